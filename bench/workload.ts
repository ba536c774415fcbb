/** The bench's queries, their rotating variables and callers, and the secrets it runs with. */

/** The secrets the bench's gateways share with its subgraphs (a bench, not a deployment). */
export const BENCH_SECRETS = {
  catalogue: 'bench-secret-catalogue-0123456789abcdef',
  admissions: 'bench-secret-admissions-0123456789abcdef',
  plans: 'bench-secret-plans-0123456789abcdef',
  feedback: 'bench-secret-feedback-0123456789abcdef',
} as const;

/** One request of a workload: its variables and who sends it (to our gateway; the peers act as the directorate). */
export interface Call {
  variables: Record<string, unknown>;
  caller: { role: string; org?: string };
}

export interface Workload {
  name: string;
  description: string;
  query: string;
  /** At least 1,000 sets, so that no cache sees the same request over and over. */
  calls: Call[];
  /** Checks a response body; returns an error message or undefined. */
  check(body: string): string | undefined;
  /** The subgraph the query goes to alone, for the floor (single-subgraph queries only). */
  floor?: 'catalogue';
}

const YEARS = [2022, 2023, 2024];
const SUBJECTS = ['MAT', 'ENG', 'NOR', 'SAM', 'TSP', 'NAT', 'KHV', 'MUS', 'KRO', 'SPE'];
const BANDS = ['GRADES_1_7', 'GRADES_5_10', 'GRADES_8_13'];

function checkData(path: string[], min = 0) {
  return (body: string): string | undefined => {
    if (body.includes('"errors"')) return `errors: ${body.slice(0, 200)}`;
    let value: unknown = (JSON.parse(body) as { data?: unknown }).data;
    for (const p of path) value = (value as Record<string, unknown> | null | undefined)?.[p];
    if (!Array.isArray(value) || value.length < min) return `no ${path.join('.')}: ${body.slice(0, 200)}`;
    return undefined;
  };
}

export function workloads(owners: string[]): Workload[] {
  const single: Call[] = [];
  for (const year of YEARS)
    for (const subject of SUBJECTS)
      for (const band of BANDS)
        for (let first = 10; first < 26; first++) {
          single.push({ variables: { year, subject, band, first }, caller: single.length % 3 === 0 ? { role: 'public' } : { role: 'directorate' } });
        }
  const cross: Call[] = [];
  const heavy: Call[] = [];
  for (const owner of owners)
    for (const year of YEARS) {
      cross.push({ variables: { owner, year, subject: SUBJECTS[(cross.length * 7) % SUBJECTS.length] }, caller: { role: 'school-owner', org: owner } });
      heavy.push({ variables: { owner, year }, caller: { role: 'school-owner', org: owner } });
    }
  const shuffle = <T>(xs: T[]) =>
    xs
      .map((x, i) => [((i * 2654435761) >>> 0) % 1_000_003, x] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, x]) => x);
  return [
    {
      name: 'single-subgraph',
      description: 'a page of 10-25 studies from the catalogue',
      query: `query Studies($year: Int, $subject: ID, $band: GradeBand, $first: Int) {
  studies(filter: { year: $year, subject: $subject, gradeBand: $band }, first: $first) {
    totalCount edges { node { id code name credits campus places status } } pageInfo { hasNextPage endCursor } } }`,
      calls: shuffle(single),
      check: checkData(['studies', 'edges']),
      floor: 'catalogue',
    },
    {
      name: 'cross-partner',
      description: "the README's query: 50 studies from all four subgraphs",
      query: `query Cross($owner: ID!, $year: Int, $subject: ID, $first: Int = 50) {
  studies(filter: { year: $year, subject: $subject }, first: $first) {
    totalCount edges { node { id name institution { shortName name } campus places vacantSeats approvedApplications(owner: $owner) rating { average count } } } } }`,
      calls: shuffle(cross),
      check: checkData(['studies', 'edges']),
    },
    {
      name: 'entity-heavy',
      description: '100 applications with owner decisions, funding and study names',
      query: `query Applications($owner: ID!, $year: Int, $first: Int = 100) {
  applications(filter: { schoolOwner: $owner, year: $year }, first: $first) {
    totalCount edges { node { id year ownerDecision { outcome rank fundingScheme } funding { funded scheme } study { name } } } } }`,
      calls: shuffle(heavy),
      check: checkData(['applications', 'edges']),
    },
  ];
}
