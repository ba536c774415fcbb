/**
 * The reference data of the deadline bench (`npm run bench:deadline`) and the events fault test:
 * eight municipalities with their teachers, two institutions, this year's and last year's offers
 * and rounds, and last year's applications the owners still decide on; then every partner's
 * projections, as the seed builds them.
 *
 * The calendar is the bench's one invention: on the teachers' deadline day of 2030 (the rush),
 * last year's owners' window is still open (its owner deadline moved to 15 March 2030), so owners
 * decide on 2029 applications while teachers apply for 2030. The rules' windows are checked as
 * always; only that one date is not a real one.
 */
import { rebuildFigures } from '../demo/figures.js';
import { rebuildProjections } from '../demo/projections.js';
import { type PartnerDbs } from '../demo/seed.js';

/** This year's applications. */
export const YEAR = 2030;
/** Last year's: the owners decide on these during the rush. */
export const LAST_YEAR = 2029;
/** The rules' "now": midday on this year's teachers' deadline day (Oslo, winter time). */
export const DEADLINE_DAY = '2030-03-01T12:00:00+01:00';

/** The municipalities (school owners) and their counties. */
const OWNERS = [
  ['4601', 'Bergen', '46', 'Vestland'],
  ['0301', 'Oslo', '03', 'Oslo'],
  ['5001', 'Trondheim', '50', 'Trøndelag'],
  ['1103', 'Stavanger', '11', 'Rogaland'],
  ['3301', 'Drammen', '33', 'Buskerud'],
  ['4204', 'Kristiansand', '42', 'Agder'],
  ['5501', 'Tromsø', '55', 'Troms'],
  ['3107', 'Fredrikstad', '31', 'Østfold'],
] as const;

const UIB = '971035854';
const HVL = '917641404';
/** Offers of each year: code, subject, grade band, institution, campus. */
const OFFERS = [
  ['K2ENG1510', 'ENG', 'GRADES_5_10', UIB, 'Bergen'],
  ['K2MAT0107', 'MAT', 'GRADES_1_7', HVL, 'Bergen'],
  ['K2MAT0813', 'MAT', 'GRADES_8_13', HVL, 'Stord'],
  ['K2NOR0107', 'NOR', 'GRADES_1_7', UIB, 'Bergen'],
  ['K2ENG0813', 'ENG', 'GRADES_8_13', HVL, 'Bergen'],
  ['K2NOR0510', 'NOR', 'GRADES_5_10', HVL, 'Stord'],
] as const;

/** An offer a teacher applies to: its id and the campus of its first choice. */
export interface Offer {
  id: string;
  campus: string;
}

/** Last year's application an owner decides on. */
export interface LastYearApplication {
  id: string;
  owner: string;
  /** The teacher's funding schemes (first, second). */
  schemes: string[];
}

/** What was seeded: who applies, to what, and what the owners decide on. */
export interface DeadlineSeed {
  /** Teachers employed by an owner: each may apply once this year. */
  teachers: { id: string; owner: string }[];
  /** Teachers no owner of the partnership employs: refused FORBIDDEN. */
  unemployed: string[];
  owners: string[];
  /** This year's offers. */
  offers: Offer[];
  lastYear: LastYearApplication[];
}

const teacherId = (i: number) => `t-dl${String(i).padStart(8, '0')}`;

/** Seeds empty databases for a rush of `teachers` teachers (`unemployed` more, employed by no owner) and `lastYear` of last year's applications. */
export async function seedDeadline(dbs: PartnerDbs, counts: { teachers: number; unemployed: number; lastYear: number }): Promise<DeadlineSeed> {
  const round = (year: number, ownerDeadline: string) => ({
    _id: year,
    opens: `${year}-02-01`,
    teacherDeadline: `${year}-03-01`,
    ownerDeadline,
    allocationDeadline: '2030-04-30',
    admissionDeadline: '2030-05-31',
    confirmationDeadline: '2030-09-01',
  });
  // Last year's owner deadline is the bench's invention (above); this year's round is the real calendar.
  await dbs.catalogue.collection('rounds').insertMany([round(LAST_YEAR, '2030-03-15'), round(YEAR, '2030-03-15')] as never[]);
  await dbs.catalogue.collection('subjects').insertMany([
    { _id: 'ENG', name: 'Engelsk', priorityYears: [LAST_YEAR, YEAR] },
    { _id: 'MAT', name: 'Matematikk', priorityYears: [LAST_YEAR, YEAR] },
    { _id: 'NOR', name: 'Norsk', priorityYears: [LAST_YEAR, YEAR] },
  ] as never[]);
  const studies = [LAST_YEAR, YEAR].flatMap((year) =>
    OFFERS.map(([code, subject, gradeBand, institution, campus]) => ({
      _id: `${code}-${year}`,
      code,
      name: `${subject} ${gradeBand}`,
      subject,
      gradeBand,
      credits: 30,
      level: 'BACHELOR',
      institution,
      campus,
      delivery: 'MIXED',
      gatherings: 4,
      semesters: 2,
      startTerm: `${year} autumn`,
      year,
      places: 1000,
      status: 'OFFERED',
    })),
  );
  await dbs.catalogue.collection('studies').insertMany(studies as never[]);
  await dbs.admissions.collection('institutions').insertMany([
    { _id: UIB, name: 'Universitetet i Bergen', shortName: 'UiB', campuses: ['Bergen'] },
    { _id: HVL, name: 'Høgskulen på Vestlandet', shortName: 'HVL', campuses: ['Bergen', 'Stord'] },
  ] as never[]);
  await dbs.plans.collection('counties').insertMany(OWNERS.map(([, , county, name]) => ({ _id: county, name })) as never[]);
  await dbs.plans
    .collection('owners')
    .insertMany(
      OWNERS.map(([id, name, county]) => ({ _id: id, name, kind: 'MUNICIPALITY', county, teacherFtes: 2000, teacherFtesSynthetic: true })) as never[],
    );
  const teachers = Array.from({ length: counts.teachers }, (_, i) => ({ id: teacherId(i), owner: OWNERS[i % OWNERS.length]![0] }));
  const countyOf = new Map<string, string>(OWNERS.map(([id, , county]) => [id, county]));
  await dbs.plans
    .collection('teachers')
    .insertMany(
      teachers.map((t) => ({ _id: t.id, owner: t.owner, county: countyOf.get(t.owner), school: 'Rushtid skole', teaches: [], credits: [] })) as never[],
    );
  await dbs.feedback.collection('unions').insertOne({ _id: 'UDF', name: 'Utdanningsforbundet' } as never);

  // Last year's applications, as admissions stored them when they came in (before that year's deadline).
  const lastYear: LastYearApplication[] = [];
  const docs = teachers.slice(0, counts.lastYear).map((t, i) => {
    const [code, subject, gradeBand, institution, campus] = OFFERS[i % OFFERS.length]!;
    const schemes = i % 3 === 0 ? ['SCHOLARSHIP', 'SUBSTITUTE'] : ['SUBSTITUTE', 'SCHOLARSHIP'];
    const id = `a-dl${String(i).padStart(12, '0')}`;
    lastYear.push({ id, owner: t.owner, schemes });
    return {
      _id: id,
      teacher: t.id,
      study: `${code}-${LAST_YEAR}`,
      year: LAST_YEAR,
      subject,
      gradeBand,
      institution,
      owner: t.owner,
      county: countyOf.get(t.owner),
      ownerApproved: false,
      firstChoice: { campus, fundingScheme: schemes[0] },
      secondChoice: { campus, fundingScheme: schemes[1] },
      submittedAt: new Date(`${LAST_YEAR}-02-20T10:00:00Z`),
      admission: null,
      enrolment: null,
      creditsCompleted: 0,
      completedAt: null,
      withdrawnAt: null,
    };
  });
  if (docs.length) await dbs.admissions.collection('applications').insertMany(docs as never[]);
  await rebuildProjections(dbs);
  await rebuildFigures(dbs);
  return {
    teachers,
    unemployed: Array.from({ length: counts.unemployed }, (_, i) => `t-nobody${String(i).padStart(6, '0')}`),
    owners: OWNERS.map(([id]) => id),
    offers: OFFERS.map(([code, , , , campus]) => ({ id: `${code}-${YEAR}`, campus })),
    lastYear,
  };
}
