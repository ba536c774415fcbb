import { describe, expect, it } from 'vitest';
// The demo data keep their own subject list and reference tables: a record they seed that a write's reference check
// would refuse is a bug of either.
import { SUBJECTS, generateDemoData } from '../demo/generate.js';
import { SUBJECT_CODES, isStudyId } from '@partnerskap/kit';

const sorted = (xs: Iterable<unknown>) => [...new Set(xs)].map(String).sort();

describe('isStudyId', () => {
  it('takes the shape publishStudy gives an offer (code and year) and nothing else', () => {
    expect(['K2ENG1510-2024', 'K2NOPE-2030', 'ABCD-2009'].map(isStudyId)).toEqual([true, true, true]);
    expect(['K2ENG1510', 'k2eng1510-2024', 'K2ENG1510-24', 'ABC-2024', 'K2ENG1510-2024-1', ''].filter(isStudyId)).toEqual([]);
  });
});

describe('the demo data pass the reference checks of the writes', () => {
  const d = generateDemoData();

  it('the demo subjects are the strategy’s subject codes (SUBJECT_CODES), no more and no fewer', () => {
    expect(sorted(SUBJECTS.map((s) => s.code))).toEqual(sorted(SUBJECT_CODES));
    expect(sorted(d.catalogue.subjects.map((s) => s._id))).toEqual(sorted(SUBJECT_CODES));
  });

  it('every subject code a partner stores is one of the strategy (saveCompetencePlan, publishStudy)', () => {
    const stored = [
      ...d.catalogue.studies.map((s) => s.subject),
      ...d.catalogue.requirements.map((r) => r.subject),
      ...d.catalogue.allocations.map((a) => a.subject),
      ...d.admissions.applications.map((a) => a.subject),
      ...d.plans.decisions.map((x) => x.subject),
      ...d.plans.plans.flatMap((p) => (p.priorities as { subject: string }[]).map((x) => x.subject)),
      ...d.plans.teachers.flatMap((t) => (t.teaches as { subject: string }[]).map((x) => x.subject)),
      ...d.feedback.feedback.map((f) => f.subject),
    ];
    expect(sorted(stored).filter((code) => !SUBJECT_CODES.has(code))).toEqual([]);
  });

  it('every study has an offer’s id and an institution of admissions with its campus (publishStudy)', () => {
    const institutions = new Map(d.admissions.institutions.map((i) => [i._id, i.campuses as string[]]));
    expect(d.catalogue.studies.filter((s) => !isStudyId(String(s._id)))).toEqual([]);
    expect(d.catalogue.studies.filter((s) => !institutions.get(s.institution as string)?.includes(s.campus as string))).toEqual([]);
  });

  it('every stored study, application, owner and union names a seeded record (submitApplication, decideApplication, allocateFunding, giveFeedback)', () => {
    const ids = (docs: { _id: unknown }[]) => new Set(docs.map((x) => String(x._id)));
    const [studies, applications, owners, unions] = [ids(d.catalogue.studies), ids(d.admissions.applications), ids(d.plans.owners), ids(d.feedback.unions)];
    const missing = (refs: unknown[], known: Set<string>) => sorted(refs).filter((r) => !known.has(r));
    const studyRefs = [...d.admissions.applications, ...d.plans.decisions, ...d.catalogue.allocations, ...d.feedback.feedback].map((x) => x.study);
    expect(missing(studyRefs, studies)).toEqual([]);
    expect(
      missing(
        [...d.plans.decisions, ...d.catalogue.allocations].map((x) => x._id),
        applications,
      ),
    ).toEqual([]);
    expect(
      missing(
        [...d.admissions.applications, ...d.plans.decisions, ...d.plans.plans].map((x) => x.owner),
        owners,
      ),
    ).toEqual([]);
    expect(
      missing(
        [...d.feedback.feedback, ...d.feedback.statements].map((x) => x.union),
        unions,
      ),
    ).toEqual([]);
  });
});
