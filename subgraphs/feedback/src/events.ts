/**
 * The unions' events (what feedback tells the other partners) and what feedback keeps of theirs:
 * who took part in which study, as the one-way participant hash only (feedback stays anonymous).
 */
import { createHash } from 'node:crypto';
import { type NewEvent, type Subscription } from '@partnerskap/kit';
import { type StatementDoc } from './store.js';

/** The one-way hash of a teacher and a study that lets a participant answer once per study without storing who. */
export function participantOf(teacher: string, study: string): string {
  return createHash('sha256').update(`partnerskap-feedback|${teacher}|${study}`).digest('base64url');
}

/** A statement is public. */
export const statementEvent = (s: StatementDoc): NewEvent => ({
  type: 'statement.published',
  subject: s._id,
  data: { id: s._id, union: s.union, topic: s.topic, title: s.title, publishedAt: s.publishedAt },
  public: true,
  audience: [s.union],
});

/** A participation: the study's dimensions and the teacher's owner, under the participant hash. */
export interface Participation {
  study: string;
  year: number;
  subject: string;
  gradeBand: string;
  owner: string;
  county: string;
}

/** Feedback keeps, of admissions' applications, only the enrolled ones, each under its participant hash. */
export const subscriptions: Subscription[] = [
  {
    source: 'admissions',
    kinds: {
      application: {
        project: (state) => {
          const a = state as {
            teacher: string;
            study: string;
            year: number;
            subject: string;
            gradeBand: string;
            owner: string;
            county: string;
            enrolled: boolean;
          };
          return a.enrolled
            ? [
                {
                  key: participantOf(String(a.teacher), String(a.study)),
                  data: { study: a.study, year: a.year, subject: a.subject, gradeBand: a.gradeBand, owner: a.owner, county: a.county } satisfies Participation,
                },
              ]
            : [];
        },
      },
    },
  },
];
