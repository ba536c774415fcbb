/**
 * The school owners' events (what plans tells the other partners) and what plans keeps of theirs.
 * An event's data is the record's state after the change, as its consumers may see it.
 */
import { type Db } from 'mongodb';
import { type DecisionState, type TeacherState, type NewEvent, type Subscription } from '@partnerskap/kit';
import { type DecisionDoc, type TeacherDoc } from './store.js';

/** An owner's decision as the other partners keep it (no reason, no rank: those are the owner's own). */
export const decisionState = (d: Omit<DecisionDoc, '_id'> & { _id?: string; id?: string }): DecisionState => ({
  application: (d._id ?? d.id)!,
  owner: d.owner,
  county: d.county,
  institution: d.institution,
  study: d.study,
  year: d.year,
  outcome: d.outcome,
  fundingScheme: d.fundingScheme,
  participationConfirmed: d.participationConfirmed,
});

/** A teacher's employer, as the institutions keep it to file an application under its owner. */
export const teacherState = (t: Pick<TeacherDoc, '_id' | 'owner' | 'county'>): TeacherState => ({ id: t._id, owner: t.owner, county: t.county });

/** A decision is about the owner and (it decides whether it sees the application) the institution. */
export const decisionEvent = (type: string, d: Parameters<typeof decisionState>[0]): NewEvent => {
  const data = decisionState(d);
  return { type, subject: data.application, data, audience: [data.owner, data.institution] };
};

/** The owners' records as the others keep them (seed, repair, reconcile). */
export const snapshots: Record<string, (db: Db) => Promise<{ subject: string; data: Record<string, unknown> }[]>> = {
  decision: async (db) => (await db.collection<DecisionDoc>('decisions').find().toArray()).map((d) => ({ subject: d._id, data: decisionState(d) })),
  teacher: async (db) =>
    (
      await db
        .collection<TeacherDoc>('teachers')
        .find({}, { projection: { owner: 1, county: 1 } })
        .toArray()
    ).map((t) => ({ subject: t._id, data: teacherState(t) })),
};

/** What plans keeps of the others': the applications to its owners' teachers' studies, the studies and the rounds. */
export const subscriptions: Subscription[] = [
  { source: 'admissions', kinds: { application: {} } },
  { source: 'catalogue', kinds: { study: {}, round: {} } },
];
