/** The reference data an application year needs and nothing else: what `npm run year` and the year tests start from. */
import { rebuildFigures } from './figures.js';
import { rebuildProjections } from './projections.js';
import { type PartnerDbs } from './seed.js';

/** A reference record: its id, as the demo data give it, and its fields. */
type Ref = { _id: string; [field: string]: unknown };

/** Two school owners, the given teachers, two institutions, a subject and a union, in empty databases. */
export async function seedYearReference(dbs: PartnerDbs, teachers: [id: string, owner: '4601' | '0301'][]): Promise<void> {
  await dbs.plans.collection<Ref>('counties').insertMany([
    { _id: '46', name: 'Vestland' },
    { _id: '03', name: 'Oslo' },
  ]);
  await dbs.plans.collection<Ref>('owners').insertMany([
    { _id: '4601', name: 'Bergen', kind: 'MUNICIPALITY', county: '46', teacherFtes: 3000, teacherFtesSynthetic: false },
    { _id: '0301', name: 'Oslo', kind: 'MUNICIPALITY', county: '03', teacherFtes: 7000, teacherFtesSynthetic: false },
  ]);
  await dbs.plans
    .collection<Ref>('teachers')
    .insertMany(teachers.map(([id, owner]) => ({ _id: id, owner, county: owner === '4601' ? '46' : '03', school: 'Nordnes skole', teaches: [], credits: [] })));
  await dbs.admissions.collection<Ref>('institutions').insertMany([
    { _id: '971035854', name: 'Universitetet i Bergen', shortName: 'UiB', campuses: ['Bergen'] },
    { _id: '917641404', name: 'Høgskulen på Vestlandet', shortName: 'HVL', campuses: ['Bergen', 'Stord'] },
  ]);
  await dbs.catalogue.collection<Ref>('subjects').insertOne({ _id: 'ENG', name: 'Engelsk', priorityYears: [2030] });
  await dbs.feedback.collection<Ref>('unions').insertOne({ _id: 'UDF', name: 'Utdanningsforbundet' });
  // The partners keep each other's registered teachers and institutions (no events tell of those): built here, as the seed does.
  await rebuildProjections(dbs);
  // Written around the subgraphs, as the seed writes: the figures they maintain are counted from it here.
  await rebuildFigures(dbs);
}

/** The 2030 round, with the usual dates. */
export const ROUND = `mutation { openRound(input: { year: 2030, opens: "2030-02-01", teacherDeadline: "2030-03-01", ownerDeadline: "2030-03-15",
  allocationDeadline: "2030-04-30", admissionDeadline: "2030-05-31", confirmationDeadline: "2030-09-01" }) { year teacherDeadline } }`;

/** A publishStudy mutation of an English offer at UiB in 2030. */
export const publishStudy = (code: string, places: number, campus = 'Bergen', extra = '') =>
  `mutation { publishStudy(input: { code: "${code}", name: "Engelsk 1 for 5.-10. trinn", subject: "ENG", gradeBand: GRADES_5_10, credits: 30,
    level: BACHELOR, institution: "971035854", campus: "${campus}", delivery: MIXED, gatherings: 4, semesters: 2, year: 2030, places: ${places}${extra} }) { id status places } }`;

/** A teacher's application to a study, first choice the substitute scheme, second (unless `single`) the scholarship. */
export const submitApplication = (study: string, single = false) =>
  `mutation { submitApplication(input: { study: "${study}", firstChoice: { campus: "Bergen", fundingScheme: SUBSTITUTE }
    ${single ? '' : 'secondChoice: { campus: "Bergen", fundingScheme: SCHOLARSHIP }'} }) { id status } }`;
