// The dashboard (web/) in headless Chromium against a running leadflow
// (tests/browser/run.sh starts it and sets the environment below).
//
// Each step is a check of issue 14's page; the first that fails ends the run
// (later steps build on earlier ones) with a screenshot of the page.

import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
  return v;
};
const BASE = env('LEADFLOW_URL');
const BROKERS = env('LEADFLOW_BROKERS');
const TOPIC = env('LEADFLOW_TOPIC');
const ORG = env('LEADFLOW_ORG');
const KEY = env('LEADFLOW_API_KEY');
const OTHER_ORG = env('LEADFLOW_OTHER_ORG');
const OTHER_KEY = env('LEADFLOW_OTHER_API_KEY');
const LSQ_ACCESS = env('LEADFLOW_LSQ_ACCESS_KEY');
const LSQ_SECRET = env('LEADFLOW_LSQ_SECRET_KEY');
const LOG = env('LEADFLOW_LOG');
const ARTIFACTS = env('LEADFLOW_ARTIFACTS');
const CHROMIUM = process.env.LEADFLOW_CHROMIUM || '/usr/bin/chromium';
// What must never show in a URL, the page history or a log line.
const SECRETS = [KEY, OTHER_KEY, LSQ_ACCESS, encodeURIComponent(LSQ_ACCESS), LSQ_SECRET];
const LIVE_DEADLINE_MS = 2000;

// ------------------------------------------------------------ the API from node

async function closeGet(urlPath, headers = {}, key = KEY) {
  const res = await fetch(BASE + urlPath, {headers: {Authorization: `Bearer ${key}`, ...headers}});
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers};
}

async function lsq(body, {csv = false} = {}) {
  const res = await fetch(`${BASE}/Leads/NotContacted${csv ? '?responseformat=CSV' : ''}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'x-LSQ-AccessKey': LSQ_ACCESS, 'x-LSQ-SecretKey': LSQ_SECRET},
    body: JSON.stringify(body),
  });
  return {status: res.status, text: await res.text()};
}

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks). */
function csvRecords(text) {
  const records = [];
  let field = '';
  let record = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(field); field = ''; }
    else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length) { record.push(field); records.push(record); }
  return records;
}

/** The number a cell shows ("1,234" → 1234, "—" → null, "38%" → 38). */
function shown(text) {
  const t = text.trim();
  if (t === '—') return null;
  const n = Number(t.replace(/[^\d.\-−+]/g, '').replace('−', '-'));
  assert.ok(Number.isFinite(n), `not a number on the page: "${text}"`);
  return n;
}

// ------------------------------------------------------------ the run

const browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: ['--no-sandbox']});
const context = await browser.newContext({
  viewport: {width: 1280, height: 900},
  acceptDownloads: true,
  timezoneId: 'America/New_York', // not UTC: x-tz-offset and local days matter
  locale: 'en-US',
});
const page = await context.newPage();
page.setDefaultTimeout(10000);
const requests = [];
const navigations = [];
const consoleLines = [];
const pageErrors = [];
page.on('request', (r) => requests.push({url: r.url(), method: r.method(), request: r}));
page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => pageErrors.push(String(e)));

let failures = 0;
let stepNo = 0;
const t0 = Date.now();
async function step(name, fn) {
  stepNo++;
  const start = Date.now();
  try {
    await fn();
    console.log(`ok ${stepNo} - ${name} (${Date.now() - start} ms)`);
  } catch (err) {
    failures++;
    console.log(`not ok ${stepNo} - ${name} (${Date.now() - start} ms)`);
    console.log(String(err && err.stack ? err.stack : err).split('\n').map((l) => `  # ${l}`).join('\n'));
    await page.screenshot({path: path.join(ARTIFACTS, `failure-${stepNo}.png`), fullPage: true}).catch(() => {});
    throw err;
  }
}
const shot = (name) => page.screenshot({path: path.join(ARTIFACTS, name), fullPage: true});

/** Everything the report page shows, read from the DOM in one go. */
function readReport() {
  return page.evaluate(() => {
    const table = document.querySelector('#report-table');
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => ({
      id: tr.dataset.statusId,
      label: tr.querySelector('th').firstChild.textContent,
      cells: Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.field, {
        text: td.textContent,
        href: td.querySelector('a') ? td.querySelector('a').getAttribute('href') : null,
      }])),
    }));
    const matrix = (id) => {
      const m = document.getElementById(id);
      if (!m) return null;
      return [...m.querySelectorAll('td[data-to]')].map((td) => ({
        from: td.dataset.from, to: td.dataset.to, text: td.textContent,
        href: td.querySelector('a') ? td.querySelector('a').getAttribute('href') : null,
      }));
    };
    const columns = [...table.querySelectorAll('thead th[data-field]')].map((th) => th.dataset.field);
    return {kind: table.dataset.kind, columns, rows, transitions: matrix('transitions-matrix'), summary: matrix('summary-matrix')};
  });
}

/** The report stream request the page opened last, and its headers. */
async function lastStream() {
  const s = requests.filter((r) => r.url.includes('/api/v1/report/statuses/lead/') && r.url.includes('/stream')).at(-1);
  assert.ok(s, 'the page opened no report stream');
  return {url: s.url, headers: await s.request.allHeaders()};
}

/** Waits until the last stream the page opened satisfies pred(URL). */
async function waitStream(pred, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const s = requests.filter((r) => r.url.includes('/stream')).at(-1);
    if (s && pred(new URL(s.url))) return;
    assert.ok(Date.now() < end, 'the page did not open the expected stream');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for a report of the given kind (period/overall) on a live stream. */
async function waitReport(kind) {
  await page.waitForSelector(`#report-table[data-kind=${kind}]`);
  await page.waitForSelector('#live-status[data-state=live]');
  await page.waitForFunction(() => !document.querySelector('#report-body').classList.contains('stale'));
}

/** The page's report equals the API's for the same parameters: every cell. */
async function compareWithApi(label) {
  const stream = await lastStream();
  const u = new URL(stream.url);
  assert.equal(u.origin, BASE, 'the stream is same-origin');
  assert.match(u.pathname, new RegExp(`^/api/v1/report/statuses/lead/${ORG}/stream$`));
  const tz = stream.headers['x-tz-offset'];
  assert.ok(tz !== undefined, 'the page sends x-tz-offset');
  assert.equal(stream.headers.authorization, `Bearer ${KEY}`);
  const api = await closeGet(u.pathname.replace(/stream$/, '') + u.search, {'x-tz-offset': tz});
  assert.equal(api.status, 200, `the API answers the page's parameters (${label})`);
  const shownReport = await readReport();
  const overall = !Array.isArray(api.body.status_transitions_summary);
  assert.equal(shownReport.kind, overall ? 'overall' : 'period');
  const fields = overall ? ['ended', 'entered', 'left']
    : ['started', 'ended', 'change', 'change_percent', 'gained', 'lost', 'entered', 'left'];
  assert.deepEqual(shownReport.columns, fields, `${label}: the columns`);
  assert.equal(shownReport.rows.length, api.body.status_overview.length, `${label}: one row per status`);
  let cells = 0;
  api.body.status_overview.forEach((row, i) => {
    const r = shownReport.rows[i];
    assert.equal(r.id, row.status_id, `${label}: row ${i} is ${row.status_id}`);
    assert.equal(r.label, row.status_label);
    for (const f of fields) {
      const cell = r.cells[f];
      assert.ok(cell, `${label}: ${row.status_label}.${f} shown`);
      assert.equal(shown(cell.text), row[f] ?? null, `${label}: ${row.status_label}.${f}`);
      if (f === 'change_percent') assert.equal(cell.text, row[f] === null ? '—' : `${new Intl.NumberFormat('en-US').format(row[f])}%`);
      assert.equal(cell.href, row._leads_page_urls[f] ?? null, `${label}: ${row.status_label}.${f} links to its leads`);
      cells++;
    }
  });
  const matrix = (shownCells, list, what) => {
    const want = list.filter((t) => t.count !== 0);
    assert.equal(shownCells.length, want.length, `${label}: ${what} cells`);
    for (const t of want) {
      const c = shownCells.find((x) => x.from === (t.from_status_id ?? '') && x.to === t.to_status_id);
      assert.ok(c, `${label}: ${what} ${t.from_status_label} → ${t.to_status_label} shown`);
      assert.equal(shown(c.text), t.count, `${label}: ${what} ${t.from_status_label} → ${t.to_status_label}`);
      assert.equal(c.href, t._leads_page_url, `${label}: ${what} cell links to its leads`);
      cells++;
    }
  };
  matrix(shownReport.transitions ?? [], api.body.status_transitions, 'transitions');
  if (overall) assert.equal(shownReport.summary, null, 'no summary for the overall report');
  else matrix(shownReport.summary ?? [], api.body.status_transitions_summary, 'summary');
  // The chart: one bar per status and series, with the table's values.
  const bars = await page.$$eval('#status-chart rect.chart-bar', (rs) => rs.map((r) => ({
    category: r.dataset.category, series: r.dataset.series, value: Number(r.dataset.value),
  })));
  assert.equal(bars.length, api.body.status_overview.length * (overall ? 1 : 2), `${label}: chart bars`);
  for (const row of api.body.status_overview) {
    const ended = bars.find((b) => b.category === row.status_label && b.series === (overall ? 'Current' : 'Ended'));
    assert.equal(ended && ended.value, row.ended, `${label}: chart bar of ${row.status_label}`);
  }
  return {api: api.body, cells, tz};
}

try {
  // ---------------------------------------------------------------- headers
  await step('the page and its files carry a strict CSP', async () => {
    for (const p of ['/', '/lsq/', '/search/lead_status%3A%22x%22/', '/assets/app.js', '/assets/app.css']) {
      const res = await fetch(BASE + p);
      assert.equal(res.status, 200, `${p} is served`);
      const csp = res.headers.get('content-security-policy');
      assert.ok(csp, `${p} has a Content-Security-Policy`);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-eval/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      await res.arrayBuffer();
    }
    const js = await fetch(`${BASE}/assets/app.js`);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
  });

  const statuses = (await closeGet(`/api/v1/report/statuses/lead/${ORG}/`)).body.status_overview;
  // A Smart View for the picker.
  const viewName = 'Owner one';
  const view = await fetch(`${BASE}/api/v1/saved_search/`, {
    method: 'POST',
    headers: {Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json'},
    body: JSON.stringify({name: viewName, query: `owner_id:"user_${ORG.replace(/^org_/, '')}_1"`}),
  }).then((r) => r.json());
  assert.ok(view.id, 'a Smart View was made');

  // ---------------------------------------------------------------- sign-in
  await step('a wrong key is refused with a clear 401', async () => {
    await page.goto(`${BASE}/`);
    await page.fill('#api-key', 'not-a-key');
    await page.click('#signin-submit');
    await page.waitForSelector('#signin-error:not([hidden])');
    assert.match(await page.textContent('#signin-error'), /401/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('leadflow.close')), null);
  });

  await step('sign in with the org\'s key: the header names the org', async () => {
    await page.fill('#api-key', KEY);
    await page.click('#signin-submit');
    await page.waitForSelector('#report-table');
    assert.equal((await page.textContent('#org-id')).trim(), ORG);
    const stored = await page.evaluate(() => ({s: JSON.stringify(sessionStorage), l: JSON.stringify(localStorage)}));
    assert.ok(stored.s.includes(KEY), 'the key is in sessionStorage');
    assert.ok(!stored.l.includes(KEY), 'the key is not in localStorage');
  });

  // ---------------------------------------------------------------- the report
  let last30;
  await step('"Last 30 days": every number equals the API\'s for the same period', async () => {
    await page.click('[data-preset=last30]');
    await waitReport('period');
    last30 = await compareWithApi('last 30 days');
    const offset = await page.evaluate(() => String(-new Date().getTimezoneOffset() / 60));
    assert.ok(offset === '-5' || offset === '-4', `America/New_York is UTC-5 or -4 (${offset})`);
    assert.equal(last30.tz, offset, 'x-tz-offset: the browser zone\'s hours east of UTC');
    const u = new URL((await lastStream()).url);
    assert.ok(u.searchParams.get('date_start') && u.searchParams.get('date_end'), 'a period has both dates');
    const days = (Date.parse(u.searchParams.get('date_end')) - Date.parse(u.searchParams.get('date_start'))) / 86400e3;
    assert.equal(days, 30, 'the last 30 days, the end exclusive');
    assert.ok(last30.cells > 40, `many cells compared (${last30.cells})`);
    await shot('report.png');
  });

  await step('"All time": the overall report, no dates, started/change/gained/lost hidden', async () => {
    await page.click('[data-preset=all]');
    await waitReport('overall');
    const r = await compareWithApi('all time');
    const u = new URL((await lastStream()).url);
    assert.equal(u.search, '', 'no dates for all time');
    assert.ok(r.cells > 10);
    await shot('report-all-time.png');
  });

  await step('"This week" starts on Monday (local) and matches the API', async () => {
    await page.click('[data-preset=week]');
    await waitReport('period');
    await compareWithApi('this week');
    const start = new URL((await lastStream()).url).searchParams.get('date_start');
    assert.equal(new Date(`${start}T12:00:00Z`).getUTCDay(), 1, `${start} is a Monday`);
  });

  await step('"Custom": two local days, the end sent as the day after', async () => {
    await page.click('[data-preset=custom]');
    const day = (n) => {
      const d = new Date(Date.now() - n * 86400e3);
      return d.toLocaleDateString('en-CA', {timeZone: 'America/New_York'}); // YYYY-MM-DD
    };
    await page.fill('#custom-from', day(40));
    await page.fill('#custom-to', day(10));
    await page.click('#custom-range button[type=submit]');
    await waitStream((u) => u.searchParams.get('date_start') === day(40) && u.searchParams.get('date_end') === day(9));
    await waitReport('period');
    await compareWithApi('custom');
  });

  await step('a query narrows the report (sent as query) and matches the API', async () => {
    await page.click('[data-preset=last30]');
    await waitReport('period');
    const q = `owner_id:"user_${ORG.replace(/^org_/, '')}_2"`;
    await page.fill('#report-query', q);
    await page.click('#apply-filter');
    await waitStream((u) => u.searchParams.get('query') === q);
    await waitReport('period');
    const stream = new URL((await lastStream()).url);
    assert.equal(stream.searchParams.get('query'), q);
    assert.equal(stream.searchParams.get('smart_view_id'), null);
    await compareWithApi('query');
  });

  await step('a Smart View from the picker replaces the query (sent as smart_view_id)', async () => {
    await page.selectOption('#smart-view', view.id);
    assert.equal(await page.inputValue('#report-query'), '', 'choosing a view clears the query');
    await waitStream((u) => u.searchParams.get('smart_view_id') === view.id);
    await waitReport('period');
    const stream = new URL((await lastStream()).url);
    assert.equal(stream.searchParams.get('smart_view_id'), view.id);
    assert.equal(stream.searchParams.get('query'), null);
    await compareWithApi('smart view');
    assert.match(await page.textContent('#period-label'), new RegExp(viewName));
  });

  await step('a query that does not parse shows the API\'s 400 message', async () => {
    await page.fill('#report-query', 'lead_status:(');
    await page.click('#apply-filter');
    await page.waitForSelector('#report-error-message');
    const msg = await page.textContent('#report-error-message');
    assert.match(msg, /400/);
    assert.match(msg, /query: position/);
    assert.equal(await page.inputValue('#smart-view'), '', 'a query clears the view');
    await page.click('#clear-filter');
    await waitReport('period');
    await compareWithApi('cleared');
  });

  // ---------------------------------------------------------------- a cell's leads
  await step('a cell link lists exactly the leads it counts (every page)', async () => {
    const report = await readReport();
    // The biggest linked count of at most 150: paging is exercised when it is over 50.
    let pick = null;
    for (const row of report.rows) {
      for (const [field, cell] of Object.entries(row.cells)) {
        const n = shown(cell.text);
        if (cell.href && n > 0 && n <= 150 && (!pick || n > pick.n)) pick = {row, field, n, href: cell.href};
      }
    }
    assert.ok(pick, 'a linked cell with leads');
    const apiRow = last30.api.status_overview.find((r) => r.status_id === pick.row.id);
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith('/search/')),
      page.click(`#report-table tr[data-status-id="${pick.row.id}"] td[data-field=${pick.field}] a`),
    ]);
    assert.equal(new URL(page.url()).pathname, pick.href);
    await page.waitForSelector('#lead-count[data-value]');
    assert.equal(await page.getAttribute('#lead-count', 'data-value'), String(pick.n), 'total_results equals the cell');
    assert.equal(shown(await page.textContent('#lead-count')), pick.n);
    assert.equal(await page.textContent('#search-query'), apiRow._queries[pick.field], 'the query, decoded from the path');
    await shot('lead-list.png');
    const ids = new Set();
    for (let pageNo = 0; ; pageNo++) {
      await page.waitForFunction(() => !document.querySelector('#lead-list').classList.contains('stale'));
      const rows = await page.$$eval('#lead-table tbody tr', (trs) => trs.map((tr) => tr.dataset.leadId));
      rows.forEach((id) => ids.add(id));
      assert.ok(rows.length <= 50);
      if (await page.isDisabled('#next-page')) break;
      assert.equal(rows.length, 50, 'a full page before the last');
      const before = rows[0];
      await page.click('#next-page');
      await page.waitForFunction((b) => {
        const first = document.querySelector('#lead-table tbody tr');
        return first && first.dataset.leadId !== b && !document.querySelector('#lead-list').classList.contains('stale');
      }, before);
      assert.ok(pageNo < 10);
    }
    assert.equal(ids.size, pick.n, 'paging through lists as many distinct leads as the cell counts');
    // And the API agrees on the set.
    const api = await closeGet(`/api/v1/lead/?query=${encodeURIComponent(apiRow._queries[pick.field])}&_limit=200`);
    assert.deepEqual([...ids].sort(), api.body.data.map((l) => l.id).sort());
  });

  await step('a transition cell link lists as many leads as it counts', async () => {
    await page.goBack();
    await waitReport('period');
    const report = await readReport();
    const t = report.transitions.filter((c) => c.href).sort((a, b) => shown(b.text) - shown(a.text))[0];
    assert.ok(t, 'a transition with leads');
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith('/search/')),
      page.click(`#transitions-matrix td[data-from="${t.from}"][data-to="${t.to}"] a`),
    ]);
    await page.waitForSelector('#lead-count[data-value]');
    assert.equal(Number(await page.getAttribute('#lead-count', 'data-value')), shown(t.text));
    const rows = await page.$$eval('#lead-table tbody tr', (trs) => trs.length);
    assert.equal(rows, Math.min(50, shown(t.text)), 'the first page');
    await page.click('#back-to-report');
    await waitReport('period');
  });

  // ---------------------------------------------------------------- live
  await step(`an event produced to the broker shows within ${LIVE_DEADLINE_MS} ms, no reload, no polling`, async () => {
    await page.click('[data-preset=last30]');
    await waitReport('period');
    const status = statuses[0];
    const sel = (f) => `#report-table tr[data-status-id="${status.status_id}"] td[data-field=${f}]`;
    const before = {ended: shown(await page.textContent(sel('ended'))), entered: shown(await page.textContent(sel('entered')))};
    await page.evaluate(() => { window.__sameDocument = true; });
    const reportCalls = () => requests.filter((r) => r.url.includes('/api/v1/report/')).length;
    const callsBefore = reportCalls();
    const updatedBefore = await page.getAttribute('#last-update', 'data-updated-at');
    const id = `browser-live-${Date.now()}`;
    const event = {
      event_id: id, type: 'lead.created', org_id: ORG, occurred_at: new Date().toISOString(),
      lead_id: `lead_${id}`, status_id: status.status_id, owner_id: `user_${ORG.replace(/^org_/, '')}_1`,
      fields: {FirstName: 'Live', LastName: 'Update'},
    };
    execFileSync('kcat', ['-P', '-b', BROKERS, '-t', TOPIC, '-k', ORG], {input: `${JSON.stringify(event)}\n`});
    const produced = Date.now();
    await page.waitForFunction(([s, want]) => {
      const td = document.querySelector(s);
      return td && Number(td.textContent.replace(/[^\d-]/g, '')) === want;
    }, [sel('ended'), before.ended + 1], {timeout: LIVE_DEADLINE_MS, polling: 20});
    const latency = Date.now() - produced;
    console.log(`  # the page showed the event ${latency} ms after kcat returned`);
    assert.ok(latency <= LIVE_DEADLINE_MS);
    assert.equal(shown(await page.textContent(sel('entered'))), before.entered + 1);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.equal(reportCalls(), callsBefore, 'no new report request: the stream pushed it');
    assert.notEqual(await page.getAttribute('#last-update', 'data-updated-at'), updatedBefore);
    assert.equal(await page.getAttribute('#live-status', 'data-state'), 'live');
    await compareWithApi('after the live event');
    await shot('report-live.png');
  });

  // ---------------------------------------------------------------- one org only
  await step('the page only ever asks for its own org; another org\'s report is 404', async () => {
    const reportUrls = requests.map((r) => new URL(r.url)).filter((u) => u.pathname.startsWith('/api/v1/report/'));
    assert.ok(reportUrls.length > 0);
    for (const u of reportUrls) assert.match(u.pathname, new RegExp(`^/api/v1/report/statuses/lead/${ORG}/`));
    for (const r of requests) assert.equal(new URL(r.url).origin, BASE, `same origin only: ${r.url}`);
    // With the page's key (from its session), another org's report path is 404.
    const status = await page.evaluate(async (other) => {
      const {key} = JSON.parse(sessionStorage.getItem('leadflow.close'));
      const res = await fetch(`/api/v1/report/statuses/lead/${other}/`, {headers: {Authorization: `Bearer ${key}`}});
      return res.status;
    }, OTHER_ORG);
    assert.equal(status, 404);
    const text = await page.textContent('main');
    assert.ok(!text.includes(OTHER_ORG), 'no other org on the page');
    // And the other org's key sees its own org only.
    assert.equal((await closeGet('/api/v1/me/', {}, OTHER_KEY)).body.organizations[0].id, OTHER_ORG);
  });

  await step('the page\'s SSE parser: fields, comments, CRLF/CR/LF, events split across chunks', async () => {
    const events = await page.evaluate(async () => {
      const {SSEParser} = await import('/assets/sse.js');
      const out = [];
      const p = new SSEParser({onEvent: (e) => out.push(e), onComment: (c) => out.push({comment: c}), onRetry: (ms) => out.push({retry: ms})});
      const text = 'retry: 1500\r\n: heartbeat\r\n\r\nid: a-1\nevent: report\ndata: {"x":\ndata: 1}\n\nid: a-2\rdata:two\r\r'
        + 'data: no id\n\nevent: error\nid: a-3\ndata: {"status":404}\n\n';
      // One character at a time: every split point, a CR and its LF in different chunks included.
      for (const ch of text) p.feed(ch);
      return out;
    });
    assert.deepEqual(events, [
      {retry: 1500},
      {comment: 'heartbeat'},
      {type: 'report', data: '{"x":\n1}', id: 'a-1'},
      {type: 'message', data: 'two', id: 'a-2'},
      {type: 'message', data: 'no id', id: 'a-2'},
      {type: 'error', data: '{"status":404}', id: 'a-3'},
    ]);
  });

  await step('a dropped stream reconnects after its retry delay with Last-Event-ID', async () => {
    await page.click('[data-preset=all]');
    await waitReport('overall');
    const real = (await closeGet(`/api/v1/report/statuses/lead/${ORG}/`)).body;
    let served = 0;
    const streams = [];
    await page.route('**/api/v1/report/statuses/lead/*/stream*', async (route) => {
      streams.push({at: Date.now(), headers: await route.request().allHeaders()});
      if (served++ === 0) {
        // One report, then the connection ends (as when the service restarts).
        await route.fulfill({status: 200, headers: {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store'},
          body: `retry: 1000\n\n: hello\n\nid: test-boot-7\nevent: report\ndata: ${JSON.stringify(real)}\n\n`});
      } else {
        await route.continue();
      }
    });
    try {
      await page.click('[data-preset=today]');
      await page.waitForSelector('#live-status[data-state=reconnecting]');
      await page.waitForFunction(() => document.querySelector('#live-status').dataset.state === 'live' && document.querySelector('#report-table'));
      assert.equal(streams.length, 2, 'one reconnect');
      assert.equal(streams[0].headers['last-event-id'], undefined, 'a new stream starts without an id');
      assert.equal(streams[1].headers['last-event-id'], 'test-boot-7', 'the reconnect names the last id');
      assert.equal(streams[1].headers.authorization, `Bearer ${KEY}`);
      const wait = streams[1].at - streams[0].at;
      assert.ok(wait >= 900 && wait < 5000, `reconnected after the stream's retry: 1000 (${wait} ms)`);
      await waitReport('period');
      await compareWithApi('after a reconnect');
    } finally {
      await page.unrouteAll({behavior: 'ignoreErrors'});
    }
  });

  await step('narrow screen: the report still renders (screenshot)', async () => {
    await page.setViewportSize({width: 390, height: 844});
    await page.waitForSelector('#report-table');
    await shot('report-mobile.png');
    await page.setViewportSize({width: 1280, height: 900});
  });

  await step('sign-out forgets the key and closes the stream', async () => {
    const stream = requests.filter((r) => r.url.includes('/stream')).at(-1).request;
    const closed = page.waitForEvent('requestfailed', {predicate: (r) => r === stream, timeout: 5000}).catch(() => null);
    await page.click('#signout');
    await page.waitForSelector('#signin-form');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('leadflow.close')), null);
    assert.ok(await closed, 'the stream request was aborted');
  });

  // ---------------------------------------------------------------- Leads Not Contacted
  await step('Leads Not Contacted: a wrong pair is refused with the API\'s message', async () => {
    await page.goto(`${BASE}/lsq/`);
    await page.fill('#lsq-access-key', LSQ_ACCESS);
    await page.fill('#lsq-secret-key', 'wrong-secret');
    await page.click('#lsq-signin-submit');
    await page.waitForSelector('#lsq-signin-error:not([hidden])');
    const msg = await page.textContent('#lsq-signin-error');
    assert.match(msg, /401/);
    assert.match(msg, /Invalid accessKey or secretKey/);
  });

  let lsqTotal;
  await step('Leads Not Contacted: the total and the pages equal the API\'s', async () => {
    await page.fill('#lsq-access-key', LSQ_ACCESS);
    await page.fill('#lsq-secret-key', LSQ_SECRET);
    await page.click('#lsq-signin-submit');
    await page.waitForSelector('#lsq-total[data-value]');
    await page.fill('#lsq-activities', '21, 22');
    const listCall = page.waitForRequest((r) => r.url().endsWith('/Leads/NotContacted') && r.postDataJSON()?.Output?.Type === 'List'
      && JSON.stringify(r.postDataJSON()).includes('"ActivityEvent":22'));
    await page.click('#lsq-run');
    const req = await listCall;
    const body = req.postDataJSON();
    assert.deepEqual(body.ReportFilter.ActivityFilters, [{ActivityEvent: 21}, {ActivityEvent: 22}]);
    assert.deepEqual(body.Paging, {PageIndex: 1, PageSize: 50});
    const headers = await req.allHeaders();
    assert.equal(headers['x-lsq-accesskey'], LSQ_ACCESS);
    assert.equal(headers['x-lsq-secretkey'], LSQ_SECRET);
    await page.waitForFunction(() => document.querySelector('#lsq-run') && !document.querySelector('#lsq-run').disabled);
    const api = JSON.parse((await lsq(body)).text);
    lsqTotal = Number(api.TotalCount);
    assert.ok(lsqTotal > 0, 'leads not contacted exist');
    assert.equal(Number(await page.getAttribute('#lsq-total', 'data-value')), lsqTotal);
    const ids = await page.$$eval('#lsq-table tbody tr', (trs) => trs.map((tr) => tr.dataset.leadId));
    assert.deepEqual(ids, api.Results.map((r) => r.ProspectID), 'page 1');
    // The chart: the aggregate by owner.
    const agg = JSON.parse((await lsq({...body, Paging: undefined, Output: {Type: 'Aggregate', GroupBy: 'OwnerId', AggregateFunction: 'Count'}})).text);
    await page.waitForSelector('#lsq-chart');
    const bars = await page.$$eval('#lsq-chart rect.chart-bar', (rs) => rs.map((r) => Number(r.dataset.value)));
    assert.equal(bars.length, agg.Results.length, 'a bar per owner');
    assert.equal(bars.reduce((a, b) => a + b, 0), lsqTotal, 'the bars add up to the total');
    if (lsqTotal > 50) {
      const page2 = page.waitForRequest((r) => r.url().endsWith('/Leads/NotContacted') && r.postDataJSON()?.Paging?.PageIndex === 2);
      await page.click('#lsq-next');
      const b2 = (await page2).postDataJSON();
      const api2 = JSON.parse((await lsq(b2)).text);
      await page.waitForFunction((first) => document.querySelector('#lsq-table tbody tr')?.dataset.leadId === first, api2.Results[0].ProspectID);
      const ids2 = await page.$$eval('#lsq-table tbody tr', (trs) => trs.map((tr) => tr.dataset.leadId));
      assert.deepEqual(ids2, api2.Results.map((r) => r.ProspectID), 'page 2');
    }
    await shot('lsq.png');
  });

  await step('Leads Not Contacted: the CSV download holds TotalCount rows and a header', async () => {
    const csvCall = page.waitForRequest((r) => r.url().includes('/Leads/NotContacted?responseformat=CSV'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#lsq-csv')]);
    assert.equal(download.suggestedFilename(), 'LeadsNotContacted.csv');
    const file = path.join(ARTIFACTS, 'LeadsNotContacted.csv');
    await download.saveAs(file);
    const records = csvRecords(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(records[0], ['ProspectID', 'ProspectStage', 'OwnerId', 'CreatedOn', 'ProspectActivityDate_Max']);
    assert.equal(records.length, lsqTotal + 1, 'TotalCount rows and the header');
    const body = (await csvCall).postDataJSON();
    assert.deepEqual(body.Paging, {PageIndex: 1, PageSize: 10000});
  });

  await step('Leads Not Contacted: owners, window and lead filter go into the body as the API reads them', async () => {
    const org = ORG.replace(/^org_/, '');
    await page.fill('#lsq-activities', '21');
    await page.fill('#lsq-owners', `user_${org}_1, user_${org}_2`);
    // Set as a person's picker would (page.fill's format check for
    // datetime-local differs between playwright-core versions).
    const setValue = (selector, value) => page.$eval(selector, (el, v) => {
      el.value = v;
      el.dispatchEvent(new Event('input', {bubbles: true}));
      el.dispatchEvent(new Event('change', {bubbles: true}));
    }, value);
    await setValue('#lsq-from', '2000-01-01T00:00:00');
    await setValue('#lsq-to', '2099-12-31T23:59:59');
    await page.fill('#lsq-field', 'Source');
    await page.selectOption('#lsq-op', 'in');
    await page.fill('#lsq-value', 'web, referral');
    const listCall = page.waitForRequest((r) => r.url().endsWith('/Leads/NotContacted') && r.postDataJSON()?.Output?.Type === 'List');
    await page.click('#lsq-run');
    const body = (await listCall).postDataJSON();
    assert.deepEqual(body.ReportFilter, {
      ActivityFilters: [{ActivityEvent: 21}],
      UserFilter: {GroupConditions: [{Condition: [{LookupName: 'UserID', Operator: 'eq', LookupValue: `user_${org}_1,user_${org}_2`}]}]},
      LeadFilters: [{LookUpName: 'Source', LookUpValues: ['web', 'referral'], SqlOperator: 'in'}],
    });
    assert.deepEqual(body.DateFilter, [{DateField: 'ActivityDate', FromDate: '2000-01-01 00:00:00', ToDate: '2099-12-31 23:59:59'}]);
    await page.waitForFunction(() => !document.querySelector('#lsq-run').disabled);
    const api = JSON.parse((await lsq(body)).text);
    assert.equal(await page.getAttribute('#lsq-total', 'data-value'), api.TotalCount);
    const owners = await page.$$eval('#lsq-table tbody tr td:nth-of-type(2)', (tds) => [...new Set(tds.map((td) => td.textContent))]);
    for (const o of owners) assert.ok([`user_${org}_1`, `user_${org}_2`].includes(o), `owner ${o} is one of the two`);
  });

  await step('Leads Not Contacted: a bad filter is caught on the page; the API\'s 429 is shown', async () => {
    await page.fill('#lsq-field', 'No Such Column');
    await page.click('#lsq-run');
    await page.waitForSelector('#lsq-error-message');
    assert.match(await page.textContent('#lsq-error-message'), /letters, digits/);
    await page.fill('#lsq-field', 'EngagementScore');
    await page.selectOption('#lsq-op', 'between');
    await page.fill('#lsq-value', '10');
    await page.click('#lsq-run');
    await page.waitForFunction(() => /two values/.test(document.querySelector('#lsq-error-message')?.textContent ?? ''));
    await page.fill('#lsq-field', '');
    // The org's budget (25 calls in 5 s) spent from here: the page's next call is refused.
    for (let i = 0; i < 30; i++) {
      if ((await lsq({Output: {Type: 'Aggregate', GroupBy: '', AggregateFunction: 'Count'}})).status === 429) break;
    }
    await page.click('#lsq-run');
    await page.waitForFunction(() => /^429: /.test(document.querySelector('#lsq-error-message')?.textContent ?? ''));
    assert.match(await page.textContent('#lsq-error-message'), /API calls exceeded the limit of 25 in 5 second/);
    await shot('lsq-error.png');
  });

  // ---------------------------------------------------------------- no key anywhere
  await step('no key in any request URL, the page history, the console or the service log', async () => {
    assert.ok(requests.length > 20, `requests seen: ${requests.length}`);
    for (const r of requests) for (const s of SECRETS) assert.ok(!r.url.includes(s), `a key in a request URL: ${r.method} ${r.url.replace(s, '<KEY>')}`);
    for (const u of [...navigations, page.url()]) for (const s of SECRETS) assert.ok(!u.includes(s), 'a key in the page history');
    const history = await page.evaluate(() => history.length);
    assert.ok(history >= 1);
    for (const l of consoleLines) for (const s of SECRETS) assert.ok(!l.includes(s), 'a key in the console');
    const log = fs.readFileSync(LOG, 'utf8');
    for (const s of SECRETS) assert.ok(!log.includes(s), 'a key in the service log');
  });

  await step('no script error and no CSP violation in the whole run', async () => {
    assert.deepEqual(pageErrors, []);
    const csp = consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l));
    assert.deepEqual(csp, []);
  });
} catch {
  // reported by step()
} finally {
  await browser.close().catch(() => {});
}

console.log(`${failures ? 'FAILED' : 'passed'}: ${stepNo} steps, ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${ARTIFACTS}`);
process.exit(failures ? 1 : 0);
