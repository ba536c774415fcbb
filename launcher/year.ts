/**
 * `npm run year`: one application year, step by step, through a gateway of its own. It starts an
 * in-memory store and the whole supergraph on free ports with a clock it moves from deadline to
 * deadline, sends each partner's mutation with a development token, prints what happened and the
 * figures after each step, shows a few refusals, and stops. Nothing of `npm start` is touched.
 */
import { startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { loadOrCreateDevKey, signDevToken } from '@partnerskap/gateway';
import { type Identity, settableClock } from '@partnerskap/kit';
import { startSupergraph } from './supergraph.js';
import { ROUND, publishStudy, seedYearReference, submitApplication } from '../demo/year-reference.js';

const STUDY = 'K2ENG1510-2030';
const BERGEN: Identity = { role: 'school-owner', org: '4601' };
const OSLO: Identity = { role: 'school-owner', org: '0301' };
const UIB: Identity = { role: 'institution', org: '971035854' };
const UDIR: Identity = { role: 'directorate' };
const teacher = (id: string): Identity => ({ role: 'teacher', org: id });

const clock = settableClock('2030-01-10T09:00:00Z');
const store = await startEmbeddedMongo({ log: () => undefined });
const running = await startSupergraph({
  mongodbUri: store.uri,
  prefix: 'year_',
  seed: false,
  clock,
  ports: { gateway: 0, catalogue: 0, admissions: 0, plans: 0, feedback: 0 },
});
await seedYearReference(running.dbs, [
  ['t-anna', '4601'],
  ['t-bjorn', '4601'],
  ['t-cecilie', '0301'],
]);
const key = await loadOrCreateDevKey();

type Answer<T> = { data?: T; errors?: { message: string; extensions?: { code?: string; field?: string } }[] };
async function send<T = unknown>(who: Identity, query: string): Promise<Answer<T>> {
  const res = await fetch(running.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await signDevToken(key, who, '5m')}` },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as Answer<T>;
}
const name = (who: Identity) =>
  (({ directorate: 'Udir', institution: 'UiB', union: 'UDF' }) as Record<string, string>)[who.role] ??
  (who.role === 'school-owner' ? (who.org === '4601' ? 'Bergen' : 'Oslo') : who.org!);
/** Sends one step of the year and waits for its events to reach the other partners; its answer's data. */
async function step<T = unknown>(who: Identity, what: string, query: string): Promise<T> {
  const answer = await send<T>(who, query);
  if (answer.errors) throw new Error(`${what}: ${JSON.stringify(answer.errors)}`);
  console.log(`  ${name(who).padEnd(9)} ${what}`);
  // The other partners learn of it by its events, within milliseconds here: the next step waits for them.
  await running.settle();
  return answer.data!;
}
async function refusal(who: Identity, what: string, query: string): Promise<void> {
  const e = (await send(who, query)).errors?.[0];
  console.log(`  ${name(who).padEnd(9)} ${what}: refused, ${e?.extensions?.code}${e?.extensions?.field ? ` on ${e.extensions.field}` : ''} ("${e?.message}")`);
}
async function figures(): Promise<void> {
  type Study = {
    places: number;
    applicants: number;
    approvedApplications: number;
    admitted: number;
    vacantSeats: number;
    rating: { count: number; average: number | null };
  };
  const { study } = (
    await send<{ study: Study }>(UDIR, `{ study(id: "${STUDY}") { places applicants approvedApplications admitted vacantSeats rating { count average } } }`)
  ).data!;
  console.log(
    `  -> ${STUDY}: ${study.applicants} applicants, ${study.approvedApplications} approved, ${study.admitted} admitted, ${study.vacantSeats} of ${study.places} seats vacant, rating ${study.rating.average ?? '-'} (${study.rating.count})`,
  );
}
const day = (at: string, title: string) => {
  clock.set(`${at}T09:00:00Z`);
  console.log(`\n${at}  ${title}`);
};

try {
  const apps: Record<string, string> = {};
  day('2030-01-10', 'Udir prepares the year');
  await step(UDIR, 'opens the 2030 round (teachers by 1 Mar, owners by 15 Mar, Udir by 30 Apr, institutions by 31 May, confirmation by 1 Sep)', ROUND);
  await step(UDIR, `publishes ${STUDY} at UiB with 2 places`, publishStudy('K2ENG1510', 2));
  await refusal(teacher('t-anna'), 'applies too early', submitApplication(STUDY));

  day('2030-02-10', 'teachers apply');
  for (const t of ['t-anna', 't-bjorn', 't-cecilie'])
    apps[t] = (await step<{ submitApplication: { id: string } }>(teacher(t), `applies for ${STUDY}`, submitApplication(STUDY))).submitApplication.id;
  await refusal(teacher('t-anna'), 'applies again', submitApplication(STUDY));
  await figures();

  day('2030-03-05', 'school owners decide');
  await refusal(BERGEN, 'decides on an Oslo teacher', `mutation { decideApplication(application: "${apps['t-cecilie']}", outcome: APPROVED) { outcome } }`);
  await step(
    OSLO,
    'rejects t-cecilie for cost',
    `mutation { decideApplication(application: "${apps['t-cecilie']}", outcome: REJECTED, reason: COST) { outcome } }`,
  );
  await step(BERGEN, 'approves t-anna (substitute scheme)', `mutation { decideApplication(application: "${apps['t-anna']}", outcome: APPROVED) { outcome } }`);
  await step(
    BERGEN,
    'approves t-bjorn (scholarship)',
    `mutation { decideApplication(application: "${apps['t-bjorn']}", outcome: APPROVED, fundingScheme: SCHOLARSHIP) { outcome } }`,
  );
  await step(BERGEN, 'ranks t-bjorn first', `mutation { rankApplications(year: 2030, applications: ["${apps['t-bjorn']}", "${apps['t-anna']}"]) { rank } }`);
  await figures();

  day('2030-04-10', 'Udir allocates');
  await refusal(UDIR, 'funds t-cecilie', `mutation { allocateFunding(application: "${apps['t-cecilie']}", funded: true) { funded } }`);
  await step(UDIR, 'funds t-anna', `mutation { allocateFunding(application: "${apps['t-anna']}", funded: true) { funded } }`);
  await step(UDIR, 'does not fund t-bjorn', `mutation { allocateFunding(application: "${apps['t-bjorn']}", funded: false) { funded } }`);

  day('2030-05-10', 'the institution admits');
  await refusal(UIB, 'admits t-bjorn within the schemes', `mutation { decideAdmission(application: "${apps['t-bjorn']}", outcome: ADMITTED) { status } }`);
  await step(UIB, 'admits t-anna', `mutation { decideAdmission(application: "${apps['t-anna']}", outcome: ADMITTED) { status } }`);
  await step(
    UIB,
    'admits t-bjorn outside the schemes (a place is left)',
    `mutation { decideAdmission(application: "${apps['t-bjorn']}", outcome: ADMITTED, outsideSchemes: true) { status } }`,
  );
  await figures();

  day('2030-08-20', 'the study year');
  await step(BERGEN, 'confirms t-anna’s participation', `mutation { confirmParticipation(application: "${apps['t-anna']}") { participationConfirmed } }`);
  await step(UIB, 'records t-anna’s enrolment', `mutation { recordEnrolment(application: "${apps['t-anna']}") { id } }`);
  await step(UIB, 'records 30 credits: completed', `mutation { recordCompletion(application: "${apps['t-anna']}", credits: 30) { status } }`);
  await step(teacher('t-anna'), 'rates the study 5', `mutation { giveFeedback(input: { study: "${STUDY}", rating: 5, union: "UDF" }) { rating } }`);
  await refusal(
    teacher('t-cecilie'),
    'rates a study she did not take',
    `mutation { giveFeedback(input: { study: "${STUDY}", rating: 1, union: "UDF" }) { rating } }`,
  );
  await figures();

  const { application } = (
    await send<{ application: { status: string; creditsCompleted: number } }>(
      teacher('t-anna'),
      `{ application(id: "${apps['t-anna']}") { status creditsCompleted } }`,
    )
  ).data!;
  console.log(`\nt-anna's application: ${application.status}, ${application.creditsCompleted} credits.`);
  const trail = (await send<{ plansAudit: { action: string }[] }>(BERGEN, '{ plansAudit(first: 10) { at action target } }')).data!.plansAudit;
  console.log(`Bergen's audit trail: ${trail.map((l) => l.action).join(', ')}.`);
} finally {
  await Promise.all(Object.values(running.dbs).map((db) => db.dropDatabase()));
  await running.stop();
  await store.close();
}
