/**
 * The catalogue's events (what it tells the other partners) and what it keeps of theirs.
 * An event's data is the record's state after the change, as its consumers may see it.
 */
import { type Db } from 'mongodb';
import { type StudyState, type RoundState, type AllocationState, type NewEvent, type Subscription } from '@partnerskap/kit';
import { type AllocationDoc, type RoundDoc, type StudyDoc } from './store.js';

/** A study offer as the other partners keep it. */
export const studyState = (s: Omit<StudyDoc, '_id'> & { _id?: string; id?: string }): StudyState => ({
  id: (s._id ?? s.id)!,
  code: s.code,
  year: s.year,
  status: s.status,
  subject: s.subject,
  gradeBand: s.gradeBand,
  credits: s.credits,
  places: s.places,
  institution: s.institution,
  campus: s.campus,
});

/** An application round as the other partners keep it. */
export const roundState = (r: Omit<RoundDoc, '_id'> & { _id?: number; id?: number }): RoundState => ({
  year: (r._id ?? r.id)!,
  opens: r.opens,
  teacherDeadline: r.teacherDeadline,
  ownerDeadline: r.ownerDeadline,
  allocationDeadline: r.allocationDeadline,
  admissionDeadline: r.admissionDeadline,
  confirmationDeadline: r.confirmationDeadline,
});

/** Udir's funding decision as the other partners keep it. */
export const allocationState = (a: Omit<AllocationDoc, '_id' | 'decidedAt'> & { _id?: string; id?: string }): AllocationState => ({
  application: (a._id ?? a.id)!,
  year: a.year,
  study: a.study,
  institution: a.institution,
  owner: a.owner,
  funded: a.funded,
  scheme: a.scheme,
});

/** Study events are public (the catalogue is), and about the institution that teaches it. */
export const studyEvent = (type: string, s: Parameters<typeof studyState>[0]): NewEvent => {
  const data = studyState(s);
  return { type, subject: data.id, data, public: true, audience: [data.institution] };
};
export const roundEvent = (r: Parameters<typeof roundState>[0]): NewEvent => {
  const data = roundState(r);
  return { type: 'round.opened', subject: String(data.year), data, public: true };
};
/** A funding decision is about the owner that approved and the institution that admits. */
export const allocationEvent = (a: Parameters<typeof allocationState>[0]): NewEvent => {
  const data = allocationState(a);
  return { type: 'allocation.decided', subject: data.application, data, audience: [data.owner, data.institution] };
};

/** The catalogue's records as the others keep them (seed, repair, reconcile). */
export const snapshots: Record<string, (db: Db) => Promise<{ subject: string; data: Record<string, unknown> }[]>> = {
  study: async (db) => (await db.collection<StudyDoc>('studies').find().toArray()).map((d) => ({ subject: d._id, data: studyState(d) })),
  round: async (db) => (await db.collection<RoundDoc>('rounds').find().toArray()).map((d) => ({ subject: String(d._id), data: roundState(d) })),
  allocation: async (db) => (await db.collection<AllocationDoc>('allocations').find().toArray()).map((d) => ({ subject: d._id, data: allocationState(d) })),
};

/** What the catalogue keeps of the others': applications (to fund them) and institutions (their campuses), owners' decisions. */
export const subscriptions: Subscription[] = [
  { source: 'admissions', kinds: { application: {}, institution: {} } },
  { source: 'plans', kinds: { decision: {} } },
];
