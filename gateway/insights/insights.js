// The strategy insights page: sends the registered operation InsightsFunnel
// (operations/insights-funnel.graphql) to the gateway it is served by, and shows the answer as a
// chart and two tables. Plain browser JavaScript, no build step; Chart.js is the global `Chart`.
'use strict';

(() => {
  const TOKEN_KEY = 'partnerskap.insights.token';
  const HIDDEN = '\u2013';
  const nb = new Intl.Collator('nb');
  const counts = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
  const percent = new Intl.NumberFormat('en-GB', { style: 'percent', maximumFractionDigits: 0 });
  const average = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 2 });

  /** The pipeline's stages, in order, as the chart and the subject table show them. */
  const STAGES = [
    { key: 'applications', label: 'Applications', colour: '#0072b2' },
    { key: 'approved', label: 'Approved by owners', colour: '#e69f00' },
    { key: 'funded', label: 'Funded', colour: '#009e73' },
    { key: 'admitted', label: 'Admitted', colour: '#cc79a7' },
    { key: 'completed', label: 'Completed', colour: '#d55e00' },
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

  // --- formatting -------------------------------------------------------------------------------

  /** A table cell: a number, or the mark of a hidden figure. */
  function cell(value, format) {
    const td = document.createElement('td');
    td.className = 'num';
    if (value === null || value === undefined) {
      const mark = document.createElement('abbr');
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

  /** A partition's rows by key; a key a partner has no row for had no record there (0). */
  const byKey = (rows, key = 'key') => new Map((rows || []).map((r) => [String(r[key]), r]));
  const figure = (map, key, field) => {
    const r = map.get(key);
    return r ? r[field] : 0;
  };
  /** A sum of shown figures: hidden as soon as one of them is. */
  const sum = (values) => (values.some((v) => v === null || v === undefined) ? null : values.reduce((a, b) => a + b, 0));

  /** Every known key (in the reference list's order), then keys only a partner knows. */
  function keysOf(reference, maps) {
    const keys = [...reference];
    for (const map of maps) for (const key of map.keys()) if (!keys.includes(key)) keys.push(key);
    return keys;
  }

  function subjectRows(data) {
    const i = data.insights;
    const names = new Map((data.subjects || []).map((s) => [s.code, s.name]));
    const apps = byKey(i.applications.bySubject);
    const decisions = byKey(i.decisions.bySubject);
    const funding = byKey(i.funding.bySubject);
    const seats = byKey(i.vacantSeats, 'subject');
    const keys = keysOf(names.keys(), [apps, decisions, funding, seats]);
    return keys
      .map((code) => ({
        code,
        name: names.get(code) || code,
        applications: figure(apps, code, 'applications'),
        approved: figure(decisions, code, 'approved'),
        funded: figure(funding, code, 'funded'),
        admitted: figure(apps, code, 'admitted'),
        completed: figure(apps, code, 'completed'),
        places: figure(seats, code, 'places'),
        vacant: figure(seats, code, 'vacant'),
      }))
      .sort((a, b) => nb.compare(a.name, b.name) || nb.compare(a.code, b.code));
  }

  function countyRows(data) {
    const i = data.insights;
    const names = new Map((data.counties || []).map((c) => [String(c.number), c.name]));
    const apps = byKey(i.applications.byCounty);
    const decisions = byKey(i.decisions.byCounty);
    const funding = byKey(i.funding.byCounty);
    const ratings = byKey(i.ratings.byCounty);
    const keys = keysOf(names.keys(), [apps, decisions, funding, ratings]);
    return keys
      .map((number) => {
        const d = decisions.get(number);
        const r = ratings.get(number);
        return {
          number,
          name: names.get(number) || `County ${number}`,
          applications: figure(apps, number, 'applications'),
          approved: figure(decisions, number, 'approved'),
          refused: figure(decisions, number, 'refused'),
          // No decisions: no rate (its denominator is 0).
          refusalRate: d ? d.refusalRate : null,
          funded: figure(funding, number, 'funded'),
          admitted: figure(apps, number, 'admitted'),
          completed: figure(apps, number, 'completed'),
          average: r ? r.rating.average : null,
        };
      })
      .sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
  }

  // --- rendering --------------------------------------------------------------------------------

  let chart = null;

  function renderChart(rows, year) {
    const canvas = $('funnel-chart');
    canvas.setAttribute(
      'aria-label',
      `Bar chart of the pipeline per subject in ${year}: ${STAGES.map((s) => s.label.toLowerCase()).join(', ')}. The same figures are in the table below it.`,
    );
    if (typeof Chart === 'undefined') throw new Error('Chart.js did not load (/insights/chart.umd.js)');
    const data = {
      labels: rows.map((r) => r.name),
      datasets: STAGES.map((s) => ({ label: s.label, data: rows.map((r) => r[s.key]), backgroundColor: s.colour, borderColor: s.colour })),
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

  function renderTables(data) {
    const i = data.insights;
    const subjects = subjectRows(data);
    const subjectBody = $('subject-table').tBodies[0];
    subjectBody.replaceChildren(
      ...subjects.map((r) => row(r.name, [r.applications, r.approved, r.funded, r.admitted, r.completed, r.places, r.vacant].map((v) => [v, counts]))),
    );
    const t = i.applications.total;
    $('subject-table').tFoot.replaceChildren(
      row('All subjects', [
        [t.applications, counts],
        [i.decisions.total.approved, counts],
        [i.funding.funded, counts],
        [t.admitted, counts],
        [t.completed, counts],
        [sum(subjects.map((r) => r.places)), counts],
        [sum(subjects.map((r) => r.vacant)), counts],
      ]),
    );
    const counties = countyRows(data);
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
    const d = i.decisions.total;
    $('county-table').tFoot.replaceChildren(
      row('All counties', [
        [t.applications, counts],
        [d.approved, counts],
        [d.refused, counts],
        [d.refusalRate, percent],
        [i.funding.funded, counts],
        [t.admitted, counts],
        [t.completed, counts],
        [i.ratings.overall.average, average],
      ]),
    );
    return subjects;
  }

  function clearFigures() {
    for (const id of ['subject-table', 'county-table']) {
      $(id).tBodies[0].replaceChildren();
      $(id).tFoot.replaceChildren();
    }
    if (chart) {
      chart.destroy();
      chart = null;
    }
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

  function showYears(years, year) {
    const options = [...new Set([...years, year])].sort((a, b) => b - a);
    yearSelect.replaceChildren(
      ...options.map((y) => {
        const option = document.createElement('option');
        option.value = String(y);
        option.textContent = years.includes(y) ? `${y}/${String(y + 1).slice(2)}` : `${y} (no round)`;
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
    const years = (data?.insightsTrend ?? []).map((i) => i.year);
    if (!chosen && years.length > 0 && year !== Math.max(...years)) return load(Math.max(...years), true);
    showErrors(errors);
    if (data) showYears(years, year);
    try {
      if (data?.insights) {
        const subjects = renderTables(data);
        renderChart(subjects, year);
        $('status').textContent = `Figures for the application year ${year}/${String(year + 1).slice(2)}.`;
        main.dataset.state = 'ready';
      } else {
        clearFigures();
        $('status').textContent = !data ? 'No figures: see the errors above.' : years.length === 0 ? 'There is no application round yet.' : `There are no figures for ${year}: no application round that year.`;
        main.dataset.state = data ? 'empty' : 'error';
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
    const value = $('token').value.trim().replace(/^Bearer\s+/i, '');
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
