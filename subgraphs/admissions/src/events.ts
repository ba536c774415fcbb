/**
 * The institutions' events (what admissions tells the other partners) and what admissions keeps
 * of theirs. An event's data is the record's state after the change, as its consumers may see it.
 */
import { type ClientSession, type Db } from 'mongodb';
import { type ApplicationState, type InstitutionState, type NewEvent, type Subscription, inTransaction } from '@partnerskap/kit';
import { createCountedApplications } from './figures.js';
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
export const subscriptions = (db: Db): Subscription[] => {
  const applications = createCountedApplications(db);
  return [
    { source: 'catalogue', kinds: { study: {}, round: {}, allocation: {} } },
    {
      source: 'plans',
      kinds: {
        decision: {
          also: async (d, subject, session) => {
            const approved = d.outcome === 'APPROVED';
            // Through the counted applications, like every write of them; only a change is written (a repair
            // runs this for every decision, without a session of its own: most are right already).
            const set = (s: ClientSession) =>
              applications.updateOne({ _id: subject, ownerApproved: { $ne: approved } }, { $set: { ownerApproved: approved } }, s);
            await (session ? set(session) : inTransaction(db, set));
          },
        },
        teacher: {},
      },
    },
  ];
};
