// The strategy insights page: sends the registered operation InsightsFunnel
// (operations/insights-funnel.graphql) to the gateway it is served by, and shows the answer as a
// chart and two tables. Plain browser JavaScript, no build step; Chart.js is the global `Chart`.
'use strict';

(() => {
  const TOKEN_KEY = 'partnerskap.insights.token';
  const HIDDEN = '\u2013';
  /** A figure the answer lacks (its partner did not answer): distinct from a hidden one and from 0. */
  const MISSING = 'n/a';
  const nb = new Intl.Collator('nb');
  const counts = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
  const percent = new Intl.NumberFormat('en-GB', { style: 'percent', maximumFractionDigits: 0 });
  const average = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 2 });

  /** The pipeline's stages, in order, as the chart and the subject table show them, with the part of `insights` each comes from. */
  const STAGES = [
    { key: 'applications', part: 'applications', label: 'Applications', colour: '#0072b2' },
    { key: 'approved', part: 'decisions', label: 'Approved by owners', colour: '#e69f00' },
    { key: 'funded', part: 'funding', label: 'Funded', colour: '#009e73' },
    { key: 'admitted', part: 'applications', label: 'Admitted', colour: '#cc79a7' },
    { key: 'completed', part: 'applications', label: 'Completed', colour: '#d55e00' },
  ];

  const $ = (id) => document.getElementById(id);
  const main = $('insights');
  const yearSelect = $('year');

  // sessionStorage may be off (a locked-down browser): the token then lives until the tab reloads.
  let memoryToken = null;
  const token = {
    get() {
      try {
        return sessionStorage.getItem(TOKEN_KEY);
      } catch {
        return memoryToken;
      }
    },
    set(value) {
      memoryToken = value;
      try {
        if (value) sessionStorage.setItem(TOKEN_KEY, value);
        else sessionStorage.removeItem(TOKEN_KEY);
      } catch {
        // kept in memory only
      }
    },
  };

  /** The token's role and organisation, to say who is asking (read, not verified: the gateway verifies). */
  function claimsOf(jwt) {
    try {
      const payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '=')));
      return { role: typeof claims.role === 'string' ? claims.role : undefined, org: typeof claims.org === 'string' ? claims.org : undefined };
    } catch {
      return {};
    }
  }

  function showCaller() {
    const jwt = token.get();
    $('forget-token').hidden = !jwt;
    if (!jwt) {
      $('caller').textContent = 'Asking as the public: small numbers are hidden and the others rounded.';
      return;
    }
    const { role, org } = claimsOf(jwt);
    const who = role ? `${role}${org ? ` ${org}` : ''}` : 'the holder of the token';
    $('caller').textContent = `Asking with your token, as ${who}${role === 'directorate' ? ': exact figures' : ''}.`;
  }

  // --- what is missing -------------------------------------------------------------------------

  /** Each partner, as the page names it (README's table). */
  const PARTNERS = {
    catalogue: 'the catalogue (Udir)',
    admissions: 'admissions (the universities and university colleges)',
    plans: 'plans (KS and the school owners)',
    feedback: 'feedback (the teachers\u2019 unions)',
  };
  /** The part of `insights` each figure comes from, and the partner that answers it. */
  const OWNERS = { applications: 'admissions', vacantSeats: 'admissions', decisions: 'plans', funding: 'catalogue', ratings: 'feedback' };
  /** The codes of a partner that did not answer (gateway/src/data-source.ts). */
  const OUTAGES = new Set(['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_TIMEOUT', 'SUBGRAPH_BAD_RESPONSE']);
  const partnerName = (partner) => PARTNERS[partner] || partner || 'a partner';
  /** Words in a sentence: "a", "a and b", "a, b and c". */
  const and = (words) => (words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : words[0]);
  /** Partners named in a sentence: "plans (…)", "plans (…) and feedback (…)". */
  const sentence = (partners) => and(partners.map(partnerName));

  /**
   * A figure the answer lacks because a partner did not answer (or a part failed): never shown as a
   * hidden figure ("–", null) or as 0. `partner` is the error's `extensions.partner` when it names one.
   */
  class Missing {
    constructor(partner, code) {
      this.partner = partner;
      this.code = code;
    }
    get reason() {
      if (!this.partner) return `a part of the answer failed${this.code ? ` (${this.code})` : ''}`;
      return OUTAGES.has(this.code) || !this.code ? `${partnerName(this.partner)} did not answer` : `${partnerName(this.partner)} failed (${this.code})`;
    }
  }
  const isMissing = (v) => v instanceof Missing;

  /** The errors of an answer, as what they say is missing: the error covering a path (its own or a parent's). */
  function gaps(errors) {
    const located = errors.filter((e) => Array.isArray(e.path));
    const covering = (path) => located.find((e) => e.path.length <= path.length && e.path.every((p, k) => String(p) === String(path[k])));
    return {
      /** A value at `path`, or a Missing when it is null because of an error there. */
      at(value, path, owner) {
        if (value !== null && value !== undefined) return value;
        const error = covering(path);
        return error ? new Missing(error.extensions?.partner || owner, error.extensions?.code) : value;
      },
      /** A part of `insights`: its value, or a Missing (a part is null only when it failed). */
      part(insights, name) {
        const value = insights[name];
        if (value !== null && value !== undefined) return value;
        const error = covering(['insights', name]);
        return new Missing(error?.extensions?.partner || OWNERS[name], error?.extensions?.code);
      },
      /** The partners that did not answer, as the errors name them, in the order they came. */
      down: [
        ...new Set(
          errors
            .filter((e) => OUTAGES.has(e.extensions?.code))
            .map((e) => e.extensions?.partner)
            .filter((p) => typeof p === 'string'),
        ),
      ],
    };
  }

  // --- formatting -------------------------------------------------------------------------------

  /** A table cell: a number, the mark of a hidden figure, or the mark of a missing one. */
  function cell(value, format) {
    const td = document.createElement('td');
    td.className = 'num';
    const mark = document.createElement('abbr');
    if (isMissing(value)) {
      mark.title = `Missing: ${value.reason}`;
      mark.textContent = MISSING;
      td.classList.add('missing-figure');
      if (value.partner) td.dataset.partner = value.partner;
      td.append(mark);
    } else if (value === null || value === undefined) {
      mark.title = 'Hidden (see the note below the tables)';
      mark.textContent = HIDDEN;
      td.classList.add('hidden-figure');
      td.append(mark);
    } else {
      td.textContent = format.format(value);
    }
    return td;
  }

  function row(label, values, header = 'row') {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = header;
    th.textContent = label;
    tr.append(th, ...values.map(([value, format]) => cell(value, format)));
    return tr;
  }

  // --- joining the partners' figures by key -----------------------------------------------------

  /** A partition's rows by key (with their index, for the errors' paths); a missing part stays a Missing. */
  const byKey = (rows, key = 'key') => (isMissing(rows) ? rows : new Map((rows || []).map((r, index) => [String(r[key]), { r, index }])));
  /** A key's figure: a part's key without a row had no record there (0); nothing is known of a missing part. */
  const figure = (map, path, key, name, g) => {
    if (isMissing(map)) return map;
    const found = map.get(key);
    return found ? g.at(found.r[name], [...path, found.index, name]) : 0;
  };
  /** A field of a part (a total), or the part's Missing. */
  const field = (part, path, g, ...fields) => {
    let value = part;
    for (const [k, f] of fields.entries()) {
      if (isMissing(value) || value === null || value === undefined) return value;
      value = g.at(value[f], [...path, ...fields.slice(0, k + 1)]);
    }
    return value;
  };
  /** A sum of shown figures: missing as soon as one is, else hidden as soon as one is. */
  const sum = (values) => values.find(isMissing) ?? (values.some((v) => v === null || v === undefined) ? null : values.reduce((a, b) => a + b, 0));
  const keysOfMap = (map) => (isMissing(map) ? [] : map.keys());

  /** Every known key (in the reference list's order), then keys only a partner knows. */
  function keysOf(reference, maps) {
    const keys = [...reference];
    for (const map of maps) for (const key of keysOfMap(map)) if (!keys.includes(key)) keys.push(key);
    return keys;
  }

  /** The parts of the year's figures, each its value or a Missing. */
  const partsOf = (data, g) => Object.fromEntries(Object.keys(OWNERS).map((name) => [name, g.part(data.insights, name)]));
  /** A breakdown of a part (`bySubject`): a Missing when the part is, or when it failed inside a part that came. */
  const breakdown = (parts, part, name, g) => (isMissing(parts[part]) ? parts[part] : g.at(parts[part][name], ['insights', part, name], OWNERS[part]));

  function subjectRows(data, parts, g) {
    const names = new Map((data.subjects || []).map((s) => [s.code, s.name]));
    const apps = byKey(breakdown(parts, 'applications', 'bySubject', g));
    const decisions = byKey(breakdown(parts, 'decisions', 'bySubject', g));
    const funding = byKey(breakdown(parts, 'funding', 'bySubject', g));
    const seats = byKey(parts.vacantSeats, 'subject');
    const at = (part) => ['insights', part, 'bySubject'];
    const keys = keysOf(names.keys(), [apps, decisions, funding, seats]);
    return keys
      .map((code) => ({
        code,
        name: names.get(code) || code,
        applications: figure(apps, at('applications'), code, 'applications', g),
        approved: figure(decisions, at('decisions'), code, 'approved', g),
        funded: figure(funding, at('funding'), code, 'funded', g),
        admitted: figure(apps, at('applications'), code, 'admitted', g),
        completed: figure(apps, at('applications'), code, 'completed', g),
        places: figure(seats, ['insights', 'vacantSeats'], code, 'places', g),
        vacant: figure(seats, ['insights', 'vacantSeats'], code, 'vacant', g),
      }))
      .sort((a, b) => nb.compare(a.name, b.name) || nb.compare(a.code, b.code));
  }

  function countyRows(data, parts, g) {
    const names = new Map((data.counties || []).map((c) => [String(c.number), c.name]));
    const apps = byKey(breakdown(parts, 'applications', 'byCounty', g));
    const decisions = byKey(breakdown(parts, 'decisions', 'byCounty', g));
    const funding = byKey(breakdown(parts, 'funding', 'byCounty', g));
    const ratings = byKey(breakdown(parts, 'ratings', 'byCounty', g));
    const at = (part) => ['insights', part, 'byCounty'];
    const keys = keysOf(names.keys(), [apps, decisions, funding, ratings]);
    return keys
      .map((number) => {
        // No decisions: no rate (its denominator is 0); no ratings: no average.
        const d = isMissing(decisions) ? decisions : decisions.get(number);
        const r = isMissing(ratings) ? ratings : ratings.get(number);
        return {
          number,
          name: names.get(number) || `County ${number}`,
          applications: figure(apps, at('applications'), number, 'applications', g),
          approved: figure(decisions, at('decisions'), number, 'approved', g),
          refused: figure(decisions, at('decisions'), number, 'refused', g),
          refusalRate: isMissing(d) ? d : d ? g.at(d.r.refusalRate, [...at('decisions'), d.index, 'refusalRate']) : null,
          funded: figure(funding, at('funding'), number, 'funded', g),
          admitted: figure(apps, at('applications'), number, 'admitted', g),
          completed: figure(apps, at('applications'), number, 'completed', g),
          average: isMissing(r) ? r : r ? field(r.r, [...at('ratings'), r.index], g, 'rating', 'average') : null,
        };
      })
      .sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
  }

  // --- rendering --------------------------------------------------------------------------------

  let chart = null;

  function renderChart(rows, year, parts) {
    const canvas = $('funnel-chart');
    // A stage whose partner did not answer is left out, not drawn as zeros; the note under the chart says so.
    const shown = STAGES.filter((s) => !isMissing(parts[s.part]));
    const left = STAGES.filter((s) => isMissing(parts[s.part]));
    // The stages grouped by why they are missing: "applications, admitted and completed (admissions … did not answer)".
    const why = new Map();
    for (const s of left) why.set(parts[s.part].reason, [...(why.get(parts[s.part].reason) || []), s.label.toLowerCase()]);
    const leftOut = [...why].map(([reason, stages]) => `${and(stages)} (${reason})`).join('; ');
    canvas.setAttribute(
      'aria-label',
      `Bar chart of the pipeline per subject in ${year}: ${shown.map((s) => s.label.toLowerCase()).join(', ')}.` +
        `${left.length > 0 ? ` Missing: ${leftOut}.` : ''} The same figures are in the table below it.`,
    );
    $('chart-note').textContent = left.length > 0 ? `Not in the chart, missing: ${leftOut}.` : '';
    $('chart-note').hidden = left.length === 0;
    if (typeof Chart === 'undefined') throw new Error('Chart.js did not load (/insights/chart.umd.js)');
    const data = {
      labels: rows.map((r) => r.name),
      // A single missing figure (a part that failed inside) is no bar, as a hidden one.
      datasets: shown.map((s) => ({
        label: s.label,
        data: rows.map((r) => (isMissing(r[s.key]) ? null : r[s.key])),
        backgroundColor: s.colour,
        borderColor: s.colour,
      })),
    };
    if (chart) {
      chart.data = data;
      chart.update();
      return;
    }
    chart = new Chart(canvas, {
      type: 'bar',
      data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: 'Applications' } } },
        plugins: {
          legend: { position: 'top' },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${item.raw === null || item.raw === undefined ? 'hidden' : counts.format(item.raw)}`,
            },
          },
        },
      },
    });
  }

  /** Marks the column headers of the parts that are missing (a whole column of n/a), and unmarks the others. */
  function markColumns(parts) {
    for (const th of document.querySelectorAll('th[data-part]')) {
      const part = parts ? parts[th.dataset.part] : undefined;
      th.querySelector('.column-missing')?.remove();
      th.classList.toggle('missing-column', isMissing(part));
      if (isMissing(part)) {
        const note = document.createElement('span');
        note.className = 'column-missing';
        note.textContent = ` (n/a: ${part.partner || 'failed'})`;
        note.title = `Missing: ${part.reason}`;
        th.append(note);
      }
    }
  }

  function renderTables(data, parts, g) {
    const subjects = subjectRows(data, parts, g);
    const subjectBody = $('subject-table').tBodies[0];
    subjectBody.replaceChildren(
      ...subjects.map((r) =>
        row(
          r.name,
          [r.applications, r.approved, r.funded, r.admitted, r.completed, r.places, r.vacant].map((v) => [v, counts]),
        ),
      ),
    );
    const apps = ['insights', 'applications'];
    const decided = ['insights', 'decisions'];
    const t = (name) => field(parts.applications, apps, g, 'total', name);
    const d = (name) => field(parts.decisions, decided, g, 'total', name);
    const funded = field(parts.funding, ['insights', 'funding'], g, 'funded');
    $('subject-table').tFoot.replaceChildren(
      row('All subjects', [
        [t('applications'), counts],
        [d('approved'), counts],
        [funded, counts],
        [t('admitted'), counts],
        [t('completed'), counts],
        [sum(subjects.map((r) => r.places)), counts],
        [sum(subjects.map((r) => r.vacant)), counts],
      ]),
    );
    const counties = countyRows(data, parts, g);
    $('county-table').tBodies[0].replaceChildren(
      ...counties.map((r) =>
        row(r.name, [
          [r.applications, counts],
          [r.approved, counts],
          [r.refused, counts],
          [r.refusalRate, percent],
          [r.funded, counts],
          [r.admitted, counts],
          [r.completed, counts],
          [r.average, average],
        ]),
      ),
    );
    $('county-table').tFoot.replaceChildren(
      row('All counties', [
        [t('applications'), counts],
        [d('approved'), counts],
        [d('refused'), counts],
        [d('refusalRate'), percent],
        [funded, counts],
        [t('admitted'), counts],
        [t('completed'), counts],
        [field(parts.ratings, ['insights', 'ratings'], g, 'overall', 'average'), average],
      ]),
    );
    markColumns(parts);
    return subjects;
  }

  function clearFigures() {
    for (const id of ['subject-table', 'county-table']) {
      $(id).tBodies[0].replaceChildren();
      $(id).tFoot.replaceChildren();
    }
    markColumns(null);
    $('chart-note').hidden = true;
    if (chart) {
      chart.destroy();
      chart = null;
    }
  }

  /** The partners that did not answer, named in a notice above the figures (none: the notice is hidden). */
  function showMissing(partners, restShown = true) {
    $('missing-text').textContent =
      partners.length === 0
        ? ''
        : `Figures from ${sentence(partners)} are missing: ${partners.length > 1 ? 'these partners' : 'the partner'} did not answer. ` +
          `${restShown ? 'The rest is shown; a missing figure reads n/a.' : 'No figure of the year can be shown without it.'} Ask again later.`;
    $('missing').hidden = partners.length === 0;
    if (partners.length > 0) main.dataset.missing = partners.join(' ');
    else delete main.dataset.missing;
  }

  function showErrors(errors) {
    const list = $('error-list');
    list.replaceChildren(
      ...errors.map((e) => {
        const li = document.createElement('li');
        const ext = e.extensions || {};
        const where = Array.isArray(e.path) ? ` at ${e.path.join('.')}` : '';
        li.textContent = `${e.message}${ext.code ? ` (${ext.code}${where})` : where}${ext.requestId ? `, request ${ext.requestId}` : ''}`;
        return li;
      }),
    );
    $('errors').hidden = errors.length === 0;
  }

  /** The years with a round; `known` is false when the catalogue did not say (then none is marked "no round"). */
  function showYears(years, year, known = true) {
    const options = [...new Set([...years, year])].sort((a, b) => b - a);
    yearSelect.replaceChildren(
      ...options.map((y) => {
        const option = document.createElement('option');
        option.value = String(y);
        option.textContent = years.includes(y) || !known ? `${y}/${String(y + 1).slice(2)}` : `${y} (no round)`;
        return option;
      }),
    );
    yearSelect.value = String(year);
    yearSelect.disabled = false;
    for (const label of document.querySelectorAll('.year-label')) label.textContent = `${year}/${String(year + 1).slice(2)}`;
  }

  // --- asking the gateway -----------------------------------------------------------------------

  let operation = null;
  /** The registered operation's text, as the gateway serves it beside the page. */
  const operationText = () =>
    (operation ??= fetch('/insights/insights-funnel.graphql', { credentials: 'omit' }).then((res) => {
      if (!res.ok) throw new Error(`The page's operation could not be loaded (HTTP ${res.status})`);
      return res.text();
    })).catch((err) => {
      operation = null;
      throw err;
    });

  async function ask(year) {
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    const jwt = token.get();
    if (jwt) headers.authorization = `Bearer ${jwt}`;
    const res = await fetch('/', {
      method: 'POST',
      headers,
      credentials: 'omit',
      cache: 'no-store',
      body: JSON.stringify({ operationName: 'InsightsFunnel', query: await operationText(), variables: { year } }),
    });
    let body = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: reported below with the status
    }
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    if (!res.ok && errors.length === 0) errors.push({ message: `The gateway answered HTTP ${res.status} ${res.statusText}`.trim() });
    if (res.status === 401 && jwt) errors.push({ message: 'The token was refused: paste a valid one, or forget it to ask as the public' });
    return { data: body?.data ?? null, errors };
  }

  let latest = 0;
  /** The years with a round as the catalogue last listed them (null: not yet heard). */
  let knownYears = null;

  /** Loads a year; `chosen` is false for the first load, which moves on to the newest year there is. */
  async function load(year, chosen) {
    const request = ++latest;
    main.dataset.state = 'loading';
    main.setAttribute('aria-busy', 'true');
    $('status').textContent = `Loading the figures for ${year}…`;
    let answer;
    try {
      answer = await ask(year);
    } catch (err) {
      answer = { data: null, errors: [{ message: `The gateway could not be asked: ${err instanceof Error ? err.message : String(err)}` }] };
    }
    if (request !== latest) return;
    const { data, errors } = answer;
    const g = gaps(errors);
    // The catalogue lists the years; when it did not answer, the years known from before stay in the picker.
    const trend = g.at(data ? data.insightsTrend : null, ['insightsTrend'], 'catalogue');
    const years = Array.isArray(trend) ? trend.map((i) => i.year) : [];
    if (Array.isArray(trend)) knownYears = years;
    if (!chosen && years.length > 0 && year !== Math.max(...years)) return load(Math.max(...years), true);
    showErrors(errors);
    if (data) showYears(knownYears ?? years, year, knownYears !== null);
    const label = `${year}/${String(year + 1).slice(2)}`;
    try {
      const insights = data ? g.at(data.insights, ['insights'], 'catalogue') : null;
      if (insights && !isMissing(insights)) {
        const parts = partsOf(data, g);
        const subjects = renderTables(data, parts, g);
        renderChart(subjects, year, parts);
        const lacking = Object.values(parts).filter(isMissing);
        const down = [...new Set([...g.down, ...lacking.filter((m) => m.partner && (!m.code || OUTAGES.has(m.code))).map((m) => m.partner)])];
        showMissing(down);
        const partial = down.length > 0 || lacking.length > 0;
        $('status').textContent = `Figures for the application year ${label}.${
          down.length > 0 ? ` Missing (n/a): those from ${sentence(down)}, which did not answer.` : partial ? ' Some are missing (n/a).' : ''
        }`;
        // County names come from plans: without them a county shows its number.
        if (isMissing(g.at(data.counties, ['counties'], 'plans'))) {
          $('missing-text').append(' Without the county names from plans, counties show their numbers.');
        }
        main.dataset.state = partial ? 'partial' : 'ready';
      } else {
        clearFigures();
        showMissing(g.down, !isMissing(insights));
        if (isMissing(insights)) {
          // The catalogue owns the year's figures: every other partner's are asked through it.
          $('status').textContent =
            `No figures for ${label}: ${insights.reason}, and every figure of a year is asked through it. See the errors above; ask again later.`;
          main.dataset.state = 'error';
        } else {
          $('status').textContent = !data
            ? 'No figures: see the errors above.'
            : years.length === 0
              ? 'There is no application round yet.'
              : `There are no figures for ${year}: no application round that year.`;
          main.dataset.state = data ? 'empty' : 'error';
        }
      }
    } catch (err) {
      showErrors([...errors, { message: `The page could not show the answer: ${err instanceof Error ? err.message : String(err)}` }]);
      main.dataset.state = 'error';
    }
    main.dataset.year = String(year);
    main.setAttribute('aria-busy', 'false');
  }

  // --- wiring -----------------------------------------------------------------------------------

  /** The year in the address (`#2023`): a link to a year can be shared; the token never goes there. */
  const yearInHash = () => {
    const match = /^#(\d{4})$/.exec(location.hash);
    return match ? Number(match[1]) : null;
  };
  const currentYear = () => yearInHash() ?? (Number(yearSelect.value) || new Date().getFullYear());

  yearSelect.addEventListener('change', () => {
    const year = Number(yearSelect.value);
    history.replaceState(null, '', `#${year}`);
    void load(year, true);
  });
  window.addEventListener('hashchange', () => {
    const year = yearInHash();
    if (year) void load(year, true);
  });
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token')
      .value.trim()
      .replace(/^Bearer\s+/i, '');
    $('token').value = '';
    token.set(value || null);
    showCaller();
    void load(currentYear(), true);
  });
  $('forget-token').addEventListener('click', () => {
    token.set(null);
    showCaller();
    void load(currentYear(), true);
  });

  showCaller();
  const start = yearInHash();
  void load(start ?? new Date().getFullYear(), start !== null);
})();
