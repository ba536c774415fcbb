/**
 * The subject codes of the strategy: a fixed list the catalogue's subjects and the demo data share.
 * A partner that stores a subject code checks it here before the write, without asking the catalogue
 * (rules read local data; a code unknown here would make every later read of the record a silent null).
 */
export const SUBJECT_CODES: ReadonlySet<string> = Object.freeze(new Set(['MAT', 'ENG', 'NOR', 'SAM', 'TSP', 'NAT', 'KHV', 'MUS', 'KRO', 'SPE']));
