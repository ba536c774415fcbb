/** Deterministic demo data for all four partners, from the reference tables in `demo/data/` and one seed. */
import { readFileSync } from 'node:fs';

/** The application years of the demo: 2022/23 to 2024/25. */
export const DEMO_YEARS = [2022, 2023, 2024] as const;
/** Applications per year, close to the strategy's figures (DOMAIN.md: 10,000 to 11,300). */
const APPLICATIONS = { 2022: 10_050, 2023: 9_820, 2024: 10_310 } as const;

type Band = 'GRADES_1_7' | 'GRADES_5_10' | 'GRADES_8_13';
type Scheme = 'SUBSTITUTE' | 'SCHOLARSHIP';

/** A plain document as each partner stores it. */
export type DemoDoc = Record<string, unknown> & { _id: string | number };

/** Every partner's collections, ready for `insertMany`. */
export interface DemoData {
  catalogue: { subjects: DemoDoc[]; requirements: DemoDoc[]; rounds: DemoDoc[]; studies: DemoDoc[]; allocations: DemoDoc[] };
  admissions: { institutions: DemoDoc[]; applications: DemoDoc[] };
  plans: { counties: DemoDoc[]; owners: DemoDoc[]; teachers: DemoDoc[]; plans: DemoDoc[]; decisions: DemoDoc[] };
  feedback: { unions: DemoDoc[]; feedback: DemoDoc[]; statements: DemoDoc[] };
}

/** mulberry32: a small, fast, deterministic PRNG. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readCsv(name: string): string[][] {
  const text = readFileSync(new URL(`./data/${name}.csv`, import.meta.url), 'utf8').trim();
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));
}

/** The strategy's subjects (their codes are the kit's `SUBJECT_CODES`, which a test keeps so), with what the demo makes of each. */
export const SUBJECTS: readonly { code: string; name: string; courses: number; popularity: number; priorityFrom?: number }[] = [
  { code: 'MAT', name: 'Matematikk', courses: 45, popularity: 30, priorityFrom: 2022 },
  { code: 'ENG', name: 'Engelsk', courses: 35, popularity: 23, priorityFrom: 2022 },
  { code: 'NOR', name: 'Norsk', courses: 35, popularity: 20, priorityFrom: 2022 },
  { code: 'SAM', name: 'Samisk', courses: 4, popularity: 1, priorityFrom: 2022 },
  { code: 'TSP', name: 'Norsk tegnspråk', courses: 3, popularity: 1, priorityFrom: 2022 },
  { code: 'NAT', name: 'Naturfag', courses: 20, popularity: 8, priorityFrom: 2023 },
  { code: 'KHV', name: 'Kunst og håndverk', courses: 12, popularity: 5 },
  { code: 'MUS', name: 'Musikk', courses: 10, popularity: 4 },
  { code: 'KRO', name: 'Kroppsøving', courses: 10, popularity: 4 },
  { code: 'SPE', name: 'Spesialpedagogikk', courses: 11, popularity: 4 },
];
const REQUIRED = new Set(['MAT', 'ENG', 'NOR', 'SAM', 'TSP']);
const BAND_LABEL: Record<Band, string> = { GRADES_1_7: '1.-7. trinn', GRADES_5_10: '5.-10. trinn', GRADES_8_13: '8.-13. trinn' };
const BAND_CODE: Record<Band, string> = { GRADES_1_7: '17', GRADES_5_10: '510', GRADES_8_13: '813' };
/** Teacher FTEs per inhabitant (synthetic): about 65,000 in primary and lower secondary, 24,000 in upper secondary. */
const FTE_PER_INHABITANT = { MUNICIPALITY: 0.0117, COUNTY: 0.0043 };
/** The share of each owner's teacher FTEs generated as teachers. */
const TEACHER_SAMPLE = 0.4;
/** Owners the sources name for refusing often: Bergen 6 in 10, Vestland (former Hordaland) 7 in 10, Oslo 1 in 4. */
const REFUSAL_RATE: Record<string, number> = { '4601': 0.6, '46': 0.7, '0301': 0.25 };
const DEFAULT_REFUSAL = 0.36;
const UNIONS = [
  { _id: 'UDF', name: 'Utdanningsforbundet', share: 0.75 },
  { _id: 'NLL', name: 'Norsk Lektorlag', share: 0.12 },
  { _id: 'SL', name: 'Skolenes landsforbund', share: 0.08 },
  { _id: 'SLF', name: 'Skolelederforbundet', share: 0.05 },
];
const TOPICS = ['RELEVANCE', 'QUALITY', 'WORKLOAD', 'ORGANISATION', 'SCHOOL_SUPPORT'];
const COMMENTS = [
  'Svært relevant for min undervisning.',
  'Krevende å kombinere med full stilling.',
  'Gode samlinger, men lite støtte fra egen skole.',
  'Fikk mye ut av nettundervisningen.',
  'Vikaren manglet kompetanse i faget.',
  null,
  null,
];

const date = (year: number, month: number, day: number, hour = 9): Date => new Date(Date.UTC(year, month - 1, day, hour));

/** Generates the whole demo data set; the same seed always gives the same data. */
export function generateDemoData(seed = 2026): DemoData {
  const random = createRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const weighted = <T>(xs: readonly T[], weight: (x: T) => number): T => {
    const total = xs.reduce((s, x) => s + weight(x), 0);
    let r = random() * total;
    for (const x of xs) if ((r -= weight(x)) <= 0) return x;
    return xs[xs.length - 1]!;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  // Pseudonymous ids: 48 random bits each (two draws), never reused.
  const used = new Set<string>();
  const id = (prefix: string): string => {
    for (;;) {
      const value = Math.floor(random() * 2 ** 16) * 2 ** 32 + Math.floor(random() * 2 ** 32);
      const candidate = `${prefix}${value.toString(36).padStart(10, '0')}`;
      if (!used.has(candidate)) {
        used.add(candidate);
        return candidate;
      }
    }
  };

  // Reference data.
  const counties = readCsv('counties').map(([number, name]) => ({ _id: number!, name: name! }));
  const municipalities = readCsv('municipalities').map(([number, name, county, population]) => ({
    number: number!,
    name: name!,
    county: county!,
    population: Number(population),
  }));
  const institutions = readCsv('institutions').map(([name, shortName, org, campuses]) => ({
    _id: org!,
    name: name!,
    shortName: shortName!,
    campuses: campuses!.split(';'),
  }));
  const teacherInstitutions = institutions.filter((i) => !['NHH', 'NMBU'].includes(i.shortName));

  // Catalogue: subjects, requirements, rounds, and about 185 courses offered each year.
  const subjects = SUBJECTS.map((s) => ({
    _id: s.code,
    name: s.name,
    priorityYears: DEMO_YEARS.filter((y) => s.priorityFrom !== undefined && y >= s.priorityFrom),
  }));
  const requirements = [...REQUIRED].flatMap((subject) => [
    { _id: `${subject}-GRADES_1_7`, subject, gradeBand: 'GRADES_1_7', credits: 30, inForceFrom: '2014-01-01' },
    { _id: `${subject}-GRADES_5_10`, subject, gradeBand: 'GRADES_5_10', credits: 60, inForceFrom: '2014-01-01' },
    { _id: `${subject}-GRADES_8_13`, subject, gradeBand: 'GRADES_8_13', credits: 60, inForceFrom: '2014-01-01' },
  ]);
  const rounds = DEMO_YEARS.map((y) => ({
    _id: y,
    opens: `${y}-02-01`,
    teacherDeadline: `${y}-03-01`,
    ownerDeadline: `${y}-03-15`,
    allocationDeadline: `${y}-04-30`,
    admissionDeadline: `${y}-05-31`,
    confirmationDeadline: `${y}-09-01`,
  }));
  const courses: {
    code: string;
    subject: string;
    band: Band;
    level: number;
    credits: number;
    master: boolean;
    inst: (typeof institutions)[number];
    campus: string;
    delivery: string;
  }[] = [];
  for (const s of SUBJECTS) {
    const seen = new Map<string, number>();
    for (let i = 0; i < s.courses; i++) {
      const band = weighted(['GRADES_1_7', 'GRADES_5_10', 'GRADES_8_13'] as Band[], (b) => (b === 'GRADES_5_10' ? 4 : 3));
      const key = `${s.code}${BAND_CODE[band]}`;
      const level = (seen.get(key) ?? 0) + 1;
      seen.set(key, level);
      // Sami at the Sami university college and UiT; the sports college only teaches physical education.
      const inst =
        s.code === 'SAM'
          ? institutions.find((x) => x.shortName === (level % 2 ? 'SH' : 'UiT'))!
          : pick(teacherInstitutions.filter((x) => (x.shortName === 'NIH') === (s.code === 'KRO') || (s.code === 'KRO' && random() < 0.5)));
      courses.push({
        code: `K2${key}${String(level).padStart(2, '0')}`,
        subject: s.code,
        band,
        level,
        credits: random() < 0.8 ? 30 : 60,
        master: band === 'GRADES_8_13' && random() < 0.5,
        inst,
        campus: pick(inst.campuses),
        delivery: weighted(['GATHERINGS', 'ONLINE', 'MIXED'], (d) => (d === 'GATHERINGS' ? 5 : d === 'MIXED' ? 3 : 2)),
      });
    }
  }
  const studies: DemoDoc[] = [];
  for (const y of DEMO_YEARS) {
    for (const c of courses) {
      const subjectName = SUBJECTS.find((s) => s.code === c.subject)!.name;
      const roll = random();
      studies.push({
        _id: `${c.code}-${y}`,
        code: c.code,
        name: `${subjectName} ${((c.level - 1) % 2) + 1} for ${BAND_LABEL[c.band]}`,
        subject: c.subject,
        gradeBand: c.band,
        credits: c.credits,
        level: c.master ? 'MASTER' : 'BACHELOR',
        institution: c.inst._id,
        campus: c.campus,
        delivery: c.delivery,
        gatherings: c.delivery === 'ONLINE' ? null : int(3, 6),
        semesters: c.credits === 60 ? 4 : 2,
        startTerm: `${y} autumn`,
        year: y,
        places: 5 * int(5, 12),
        status: roll < 0.04 ? 'NOT_OFFERED' : roll < 0.09 ? 'CANCELLED' : 'OFFERED',
      });
    }
  }

  // Plans: owners (municipalities, counties, a few private owners) and their teachers.
  const owners: DemoDoc[] = [];
  for (const m of municipalities) {
    owners.push({
      _id: m.number,
      name: m.name,
      kind: 'MUNICIPALITY',
      county: m.county,
      teacherFtes: Math.round(m.population * FTE_PER_INHABITANT.MUNICIPALITY * 10) / 10,
      teacherFtesSynthetic: true,
    });
  }
  for (const c of counties) {
    const population = municipalities.filter((m) => m.county === c._id).reduce((s, m) => s + m.population, 0);
    owners.push({
      _id: c._id,
      name: c.name,
      kind: 'COUNTY',
      county: c._id,
      teacherFtes: Math.round(population * FTE_PER_INHABITANT.COUNTY * 10) / 10,
      teacherFtesSynthetic: true,
    });
  }
  const privateTowns = ['Oslo', 'Bergen', 'Trondheim', 'Stavanger', 'Tromsø', 'Kristiansand', 'Drammen', 'Bodø', 'Hamar', 'Ålesund'];
  privateTowns.forEach((town, i) => {
    const m = municipalities.find((x) => x.name.startsWith(town))!;
    // Synthetic organisation numbers: 9 digits starting with 99 so they cannot be mistaken for the register's.
    owners.push({
      _id: `99${String(1000000 + i * 7919).slice(-7)}`,
      name: `${i % 2 ? 'Steinerskolen' : 'Kristen friskole'} i ${town}`,
      kind: 'PRIVATE',
      county: m.county,
      teacherFtes: int(15, 90),
      teacherFtesSynthetic: true,
    });
  });
  const teachers: DemoDoc[] = [];
  for (const o of owners) {
    const n = Math.max(1, Math.round((o.teacherFtes as number) * TEACHER_SAMPLE));
    const kind = o.kind as string;
    const schools = Math.max(1, Math.round(n / 25));
    for (let i = 0; i < n; i++) {
      const levels = kind === 'COUNTY' ? [11, 12, 13] : random() < 0.6 ? [1, 2, 3, 4, 5, 6, 7] : [8, 9, 10];
      const taught = [...new Set([weighted(SUBJECTS, (s) => s.popularity).code, weighted(SUBJECTS, (s) => s.popularity).code])];
      const school = `${String(o.name).split(' - ')[0]} ${kind === 'COUNTY' ? 'videregående skole' : levels[0] === 1 ? 'barneskole' : 'ungdomsskole'} ${1 + (i % schools)}`;
      teachers.push({
        _id: id('t-'),
        owner: o._id,
        county: o.county,
        school,
        teaches: taught.map((subject) => ({ subject, gradeLevels: levels })),
        credits: taught.map((subject) => ({ subject, credits: pick([0, 0, 15, 30, 30, 60, 60, 60]) })),
      });
    }
  }
  const ownerById = new Map(owners.map((o) => [o._id, o]));

  // The year: applications (admissions), owner decisions (plans), allocations (catalogue), feedback (unions).
  const applications: DemoDoc[] = [];
  const decisions: DemoDoc[] = [];
  const allocations: DemoDoc[] = [];
  const feedback: DemoDoc[] = [];
  for (const y of DEMO_YEARS) {
    const open = studies.filter((s) => s.year === y && s.status !== 'NOT_OFFERED');
    const bySubject = new Map<string, DemoDoc[]>();
    for (const s of open) bySubject.set(s.subject as string, [...(bySubject.get(s.subject as string) ?? []), s]);
    const chosen = new Set<number>();
    const rows: { app: DemoDoc; teacher: DemoDoc; study: DemoDoc }[] = [];
    while (rows.length < APPLICATIONS[y]) {
      const t = int(0, teachers.length - 1);
      if (chosen.has(t)) continue;
      chosen.add(t);
      const teacher = teachers[t]!;
      const county = ownerById.get(teacher.owner as string)!.kind === 'COUNTY';
      const subject = weighted(SUBJECTS, (s) => s.popularity).code;
      const candidates = (bySubject.get(subject) ?? []).filter((s) =>
        county ? s.gradeBand === 'GRADES_8_13' : s.gradeBand !== 'GRADES_8_13' || random() < 0.3,
      );
      if (candidates.length === 0) continue;
      const study = pick(candidates);
      const inst = institutions.find((i) => i._id === study.institution)!;
      const scheme1: Scheme = random() < 0.7 ? 'SUBSTITUTE' : 'SCHOLARSHIP';
      const other = inst.campuses.filter((c) => c !== study.campus);
      const app: DemoDoc = {
        _id: id('a-'),
        teacher: teacher._id,
        study: study._id,
        year: y,
        subject: study.subject,
        gradeBand: study.gradeBand,
        institution: study.institution,
        owner: teacher.owner,
        county: teacher.county,
        firstChoice: { campus: study.campus, fundingScheme: scheme1 },
        secondChoice:
          other.length > 0 && random() < 0.5 ? { campus: pick(other), fundingScheme: scheme1 === 'SUBSTITUTE' ? 'SCHOLARSHIP' : 'SUBSTITUTE' } : null,
        submittedAt: date(y, 2, int(1, 28), int(7, 22)),
        admission: null,
        enrolment: null,
        creditsCompleted: 0,
        completedAt: null,
      };
      rows.push({ app, teacher, study });
    }
    // Owners decide, and rank what they approve.
    const rankByOwner = new Map<string, number>();
    const seats = new Map<string, number>(open.map((s) => [s._id as string, s.places as number]));
    for (const { app, teacher, study } of rows) {
      const dims = {
        owner: app.owner,
        teacher: app.teacher,
        study: app.study,
        institution: app.institution,
        year: y,
        subject: app.subject,
        gradeBand: app.gradeBand,
        county: app.county,
      };
      const refused = random() < (REFUSAL_RATE[app.owner as string] ?? DEFAULT_REFUSAL);
      const decidedAt = date(y, 3, int(2, 15), int(8, 16));
      if (refused) {
        decisions.push({
          _id: app._id,
          ...dims,
          outcome: 'REJECTED',
          reason: weighted(['COST', 'PRIORITIES', 'INCOMPLETE_APPLICATION', 'OTHER'], (r) => (r === 'COST' ? 55 : r === 'PRIORITIES' ? 25 : 10)),
          rank: null,
          fundingScheme: null,
          decidedAt,
          participationConfirmed: false,
          confirmedAt: null,
        });
        app.ownerApproved = false;
        applications.push(app);
        continue;
      }
      // Admissions keeps a projection of the owner's approval: institutions see an application only then.
      app.ownerApproved = true;
      const rank = (rankByOwner.get(String(app.owner)) ?? 0) + 1;
      rankByOwner.set(String(app.owner), rank);
      const scheme = (app.firstChoice as { fundingScheme: Scheme }).fundingScheme;
      const decision: DemoDoc = {
        _id: app._id,
        ...dims,
        outcome: 'APPROVED',
        reason: null,
        rank,
        fundingScheme: scheme,
        decidedAt,
        participationConfirmed: false,
        confirmedAt: null,
      };
      decisions.push(decision);
      const funded = random() < 0.86;
      allocations.push({
        _id: app._id,
        year: y,
        study: app.study,
        teacher: app.teacher,
        institution: app.institution,
        subject: app.subject,
        gradeBand: app.gradeBand,
        county: app.county,
        owner: app.owner,
        funded,
        scheme: funded ? scheme : null,
        decidedAt: date(y, 4, int(15, 30), 12),
      });
      // Institutions admit funded applicants while places last; a few unfunded ones outside the schemes.
      const left = seats.get(app.study as string) ?? 0;
      const cancelled = study.status === 'CANCELLED';
      let outcome: string | null = null;
      let outside = false;
      if (cancelled) outcome = funded ? 'REJECTED' : null;
      else if (funded) outcome = left > 0 ? 'ADMITTED' : 'WAITLISTED';
      else if (left > 0 && random() < 0.08) {
        outcome = 'ADMITTED';
        outside = true;
      }
      if (outcome === 'ADMITTED') seats.set(app.study as string, left - 1);
      if (outcome) app.admission = { outcome, outsideSchemes: outside, decidedAt: date(y, 5, int(2, 31), 12) };
      if (outcome === 'ADMITTED') {
        decision.participationConfirmed = random() < 0.96;
        decision.confirmedAt = decision.participationConfirmed ? date(y, 9, 1, 10) : null;
        if (decision.participationConfirmed) {
          const withdrew = random() < 0.08;
          app.enrolment = { enrolledAt: date(y, 8, int(15, 31), 10), withdrawnAt: withdrew ? date(y, int(10, 12), int(1, 28), 10) : null };
          const credits = study.credits as number;
          if (!withdrew) {
            const full = random() < 0.85;
            app.creditsCompleted = full ? credits : 15;
            if (full) app.completedAt = date(credits === 60 ? y + 2 : y + 1, 6, int(10, 25), 12);
            if (random() < 0.3) {
              const rating = weighted([1, 2, 3, 4, 5], (r) => [1, 3, 10, 22, 14][r - 1]!);
              feedback.push({
                _id: id('f-'),
                study: app.study,
                subject: app.subject,
                gradeBand: app.gradeBand,
                year: y,
                county: app.county,
                owner: app.owner,
                rating,
                topics: TOPICS.filter(() => random() < 0.7).map((topic) => ({ topic, rating: Math.min(5, Math.max(1, rating + int(-1, 1))) })),
                comment: pick(COMMENTS),
                union: weighted(UNIONS, (u) => u.share)._id,
                givenAt: date(credits === 60 ? y + 2 : y + 1, 6, int(1, 30), 12),
              });
            }
          }
        }
      }
      applications.push(app);
      void teacher;
    }
  }

  // Competence plans: each owner prioritises 1 to 3 subjects a year, with targets and a budget.
  const plans: DemoDoc[] = [];
  for (const o of owners) {
    for (const y of DEMO_YEARS) {
      const picked = [...new Set([weighted(SUBJECTS, (s) => s.popularity).code, weighted(SUBJECTS, (s) => s.popularity).code, pick(SUBJECTS).code])].slice(
        0,
        int(1, 3),
      );
      plans.push({
        _id: `${o._id}-${y}`,
        owner: o._id,
        year: y,
        county: o.county,
        priorities: picked.map((subject) => ({
          subject,
          gradeBand: o.kind === 'COUNTY' ? 'GRADES_8_13' : pick(['GRADES_1_7', 'GRADES_5_10']),
          targetTeachers: Math.max(1, Math.round((o.teacherFtes as number) * 0.01 * int(1, 4))),
        })),
        budgetNok: Math.round(((o.teacherFtes as number) * int(800, 2500)) / 1000) * 1000,
      });
    }
  }

  const statements: DemoDoc[] = [
    [
      'UDF',
      'COST',
      'Kostnadene stopper videreutdanningen',
      'Mange kommuner takker nei til søknader fordi egenandelen blir for høy. Staten må ta en større del av kostnadene.',
      '2022-03-20',
    ],
    [
      'UDF',
      'OWN_TIME',
      'Egen tid er en urimelig byrde',
      'Lærerne bruker 25 prosent egen tid på studiene i tillegg til full jobb. Ordningen må gi mer frikjøp.',
      '2022-09-05',
    ],
    [
      'NLL',
      'SUBSTITUTES',
      'Vikarene mangler kompetanse',
      'Når lærere tar videreutdanning, underviser ofte ukvalifiserte vikarer. Det går ut over elevene.',
      '2023-01-16',
    ],
    [
      'SL',
      'PRINCIPLES',
      'Alle ansatte i skolen må med',
      'Strategien må også gi rom for kompetanseutvikling for yrkesfaglærere og andre ansatte i skolen.',
      '2023-04-11',
    ],
    [
      'SLF',
      'SHARING',
      'Kompetansen må bli i skolen',
      'Det lærerne lærer, blir for ofte hos den enkelte. Skoleledere trenger tid og rom til å dele kompetansen.',
      '2023-10-02',
    ],
    [
      'UDF',
      'PRINCIPLES',
      'Kompetansekravene må følges av ressurser',
      'Kravene om fordypning for å undervise krever at alle som trenger det, får tilbud om videreutdanning.',
      '2024-02-12',
    ],
    ['NLL', 'COST', 'Fylkene sier nei', 'Flere fylkeskommuner avslår de fleste søknadene. Det svekker fagkompetansen i videregående skole.', '2024-03-25'],
    [
      'UDF',
      'SUBSTITUTES',
      'Vikarordningen må styrkes',
      'Vikarordningen må finansieres fullt ut, slik at lærere kan studere uten at elevene mister god undervisning.',
      '2024-11-18',
    ],
  ].map(([union, topic, title, body, day], i) => ({
    _id: `s-${String(i + 1).padStart(3, '0')}`,
    union: union!,
    topic: topic!,
    title: title!,
    body: body!,
    publishedAt: new Date(`${day}T10:00:00Z`),
  }));

  return {
    catalogue: { subjects, requirements, rounds, studies, allocations },
    admissions: { institutions, applications },
    plans: { counties, owners, teachers, plans, decisions },
    feedback: { unions: UNIONS.map(({ _id, name }) => ({ _id, name })), feedback, statements },
  };
}
