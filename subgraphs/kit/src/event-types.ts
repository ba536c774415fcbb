/**
 * The event contract between the partners: the data each kind of event carries (the record's
 * state after the change, as its consumers may see it). A producer's state function returns
 * these shapes; a consumer reads its projections as them. Pseudonymous ids only, no names.
 * A change that removes or retypes a field is a new envelope version, as a schema change would be.
 * (Type aliases, not interfaces: they are records of JSON values, assignable where data is.)
 */

/** `study.published`, `study.updated`, `study.cancelled` (the catalogue; public). */
export type StudyState = {
  id: string;
  code: string;
  year: number;
  status: string;
  subject: string;
  gradeBand: string;
  credits: number;
  places: number;
  institution: string;
  campus: string;
};

/** `round.opened` (the catalogue; public). Dates `YYYY-MM-DD`. */
export type RoundState = {
  year: number;
  opens: string;
  teacherDeadline: string;
  ownerDeadline: string;
  allocationDeadline: string;
  admissionDeadline: string;
  confirmationDeadline: string;
};

/** `allocation.decided` (the catalogue): Udir's funding decision on one application. */
export type AllocationState = {
  application: string;
  year: number;
  study: string;
  institution: string;
  owner: string;
  funded: boolean;
  scheme: string | null;
};

/** `application.submitted`, `.withdrawn`, `.admission-decided`, `.enrolled`, `.completed`, `.erased` (admissions). */
export type ApplicationState = {
  id: string;
  /** The teacher's pseudonymous id (a new random one after erasure). */
  teacher: string;
  study: string;
  year: number;
  subject: string;
  gradeBand: string;
  institution: string;
  owner: string;
  county: string;
  /** The funding schemes of the first and (if any) second choice. */
  fundingSchemes: string[];
  withdrawn: boolean;
  /** ADMITTED, WAITLISTED, REJECTED, or null before the institution decided. */
  admission: string | null;
  enrolled: boolean;
  completed: boolean;
  credits: number;
};

/** No events (institutions are registered by the partnership); the catalogue keeps their campuses (seed, repair). */
export type InstitutionState = {
  orgNumber: string;
  campuses: string[];
};

/** `decision.made`, `decision.funding-scheme-chosen`, `decision.participation-confirmed` (plans). */
export type DecisionState = {
  application: string;
  owner: string;
  county: string;
  institution: string;
  study: string;
  year: number;
  /** APPROVED or REJECTED. */
  outcome: string;
  fundingScheme: string | null;
  participationConfirmed: boolean;
};

/** `teacher.erased` only (teachers are registered by their owners; seed and repair build the rest): admissions keeps each teacher's employer. */
export type TeacherState = {
  id: string;
  owner: string;
  county: string;
};
