/**
 * The institutions' events (what admissions tells the other partners) and what admissions keeps
 * of theirs. An event's data is the record's state after the change, as its consumers may see it.
 */
import { type Db } from 'mongodb';
import { type ApplicationState, type InstitutionState, type NewEvent, type Subscription } from '@partnerskap/kit';
import { type ApplicationDoc, type InstitutionDoc } from './store.js';

/** An application as the other partners keep it: pseudonymous teacher, no campus wishes, no dates but the facts. */
export const applicationState = (a: Omit<ApplicationDoc, '_id'> & { _id?: string; id?: string }): ApplicationState => ({
  id: (a._id ?? a.id)!,
  teacher: a.teacher,
  study: a.study,
  year: a.year,
  subject: a.subject,
  gradeBand: a.gradeBand,
  institution: a.institution,
  owner: a.owner,
  county: a.county,
  fundingSchemes: [a.firstChoice.fundingScheme, ...(a.secondChoice ? [a.secondChoice.fundingScheme] : [])],
  withdrawn: Boolean(a.withdrawnAt || a.enrolment?.withdrawnAt),
  admission: a.admission?.outcome ?? null,
  enrolled: Boolean(a.enrolment),
  completed: Boolean(a.completedAt),
  credits: a.creditsCompleted,
});

/** An institution's campuses, as the catalogue keeps them to check an offer's campus. */
export const institutionState = (i: InstitutionDoc): InstitutionState => ({ orgNumber: i._id, campuses: i.campuses });

/** An application is about the teacher's owner, and about the institution once the owner approved it (it sees it only then). */
export const applicationEvent = (type: string, a: Parameters<typeof applicationState>[0]): NewEvent => {
  const data = applicationState(a);
  return { type, subject: data.id, data, audience: [data.owner, a.ownerApproved ? data.institution : null] };
};

/** The institutions' records as the others keep them (seed, repair, reconcile). */
export const snapshots: Record<string, (db: Db) => Promise<{ subject: string; data: Record<string, unknown> }[]>> = {
  application: async (db) => (await db.collection<ApplicationDoc>('applications').find().toArray()).map((d) => ({ subject: d._id, data: applicationState(d) })),
  institution: async (db) => (await db.collection<InstitutionDoc>('institutions').find().toArray()).map((d) => ({ subject: d._id, data: institutionState(d) })),
};

/**
 * What admissions keeps of the others': studies, rounds and funding (the catalogue), owners'
 * decisions and teachers' employers (plans). An owner's decision also sets `ownerApproved` on the
 * application (institutions see an application only once its owner approved it).
 */
export const subscriptions = (db: Db): Subscription[] => [
  { source: 'catalogue', kinds: { study: {}, round: {}, allocation: {} } },
  {
    source: 'plans',
    kinds: {
      decision: {
        also: async (d, subject, session) => {
          await db
            .collection<ApplicationDoc>('applications')
            .updateOne({ _id: subject }, { $set: { ownerApproved: d.outcome === 'APPROVED' } }, session ? { session } : {});
        },
      },
      teacher: {},
    },
  },
];
