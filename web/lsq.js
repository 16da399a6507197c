// Leads Not Contacted (LeadSquared): POST /Leads/NotContacted with the org's
// key pair in the x-LSQ-AccessKey / x-LSQ-SecretKey headers. The API allows
// 25 calls per 5 s per org: calls happen on submit, page change and download
// only.

import {h, replace, fmtInt, errorBox} from '/assets/dom.js';
import {lsqSession, setLsqSession, signOutLsq, lsqPost, ApiError} from '/assets/session.js';
import {barChart} from '/assets/chart.js';

const FORM_KEY = 'leadflow.lsq.form';
const PAGE_SIZE = 50;
const CSV_ROWS = 10000;
const COLUMNS = [
  {name: 'ProspectID', label: 'Lead'},
  {name: 'ProspectStage', label: 'Stage'},
  {name: 'OwnerId', label: 'Owner'},
  {name: 'CreatedOn', label: 'Created (UTC)'},
  {name: 'ProspectActivityDate_Max', label: 'Last activity (UTC)'},
];
const OPERATORS = ['=', '<>', 'like', '<', '<=', '>', '>=', 'in', 'not in', 'between'];
const EMPTY_FORM = {activities: '', from: '', to: '', owners: '', field: '', op: '=', value: ''};

function loadForm() {
  const f = {...EMPTY_FORM};
  try {
    const v = JSON.parse(sessionStorage.getItem(FORM_KEY) || 'null');
    if (v && typeof v === 'object') for (const k of Object.keys(f)) if (typeof v[k] === 'string') f[k] = v[k];
  } catch {
    // defaults
  }
  if (!OPERATORS.includes(f.op)) f.op = '=';
  return f;
}

const splitList = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** datetime-local ("2024-05-01T10:00" or with seconds) → "2024-05-01 10:00:00". */
function lsqDate(v) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(v);
  return m ? `${m[1]} ${m[2]}:${m[3]}:${m[4] ?? '00'}` : null;
}

/** The request's ReportFilter and DateFilter from the form, or {error}. */
export function filtersOf(f) {
  const body = {ReportFilter: {}};
  const codes = splitList(f.activities);
  for (const c of codes) {
    if (!/^\d{1,18}$/.test(c)) return {error: `Activity codes are whole numbers separated by commas ("${c}" is not).`};
  }
  if (codes.length) body.ReportFilter.ActivityFilters = codes.map((c) => ({ActivityEvent: Number(c)}));
  const owners = splitList(f.owners);
  if (owners.length) {
    body.ReportFilter.UserFilter = {
      GroupConditions: [{Condition: [{LookupName: 'UserID', Operator: 'eq', LookupValue: owners.join(',')}]}],
    };
  }
  if (f.field.trim()) {
    if (!/^[A-Za-z0-9_]+$/.test(f.field.trim())) return {error: 'The lead field is a column name: letters, digits and _.'};
    let values;
    if (f.op === 'in' || f.op === 'not in' || f.op === 'between') {
      values = splitList(f.value);
      if (f.op === 'between' && values.length !== 2) return {error: '"between" takes two values separated by a comma.'};
      if (!values.length) return {error: `"${f.op}" needs at least one value.`};
    } else {
      values = [f.value];
    }
    body.ReportFilter.LeadFilters = [{LookUpName: f.field.trim(), LookUpValues: values, SqlOperator: f.op}];
  }
  if (f.from || f.to) {
    const from = f.from ? lsqDate(f.from) : '0001-01-01 00:00:00';
    const to = f.to ? lsqDate(f.to) : '9999-12-31 23:59:59';
    if (!from || !to) return {error: 'The activity window needs valid dates.'};
    if (from > to) return {error: 'The activity window ends before it starts.'};
    body.DateFilter = [{DateField: 'ActivityDate', FromDate: from, ToDate: to}];
  }
  return body;
}

export function listBody(filters, pageIndex, pageSize = PAGE_SIZE) {
  return {
    ...filters,
    Output: {Type: 'List', IncludeCSV: COLUMNS.map((c) => c.name).join(',')},
    Paging: {PageIndex: pageIndex, PageSize: pageSize},
  };
}

export function aggregateBody(filters) {
  return {...filters, Output: {Type: 'Aggregate', GroupBy: 'OwnerId', AggregateFunction: 'Count'}};
}

function signInForm(container, {message, then}) {
  const access = h('input', {id: 'lsq-access-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', placeholder: 'u$…'});
  const secret = h('input', {id: 'lsq-secret-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false'});
  const error = h('div', {id: 'lsq-signin-error', class: 'alert alert-error', role: 'alert', hidden: !message}, message || '');
  const form = h('form', {class: 'card signin', id: 'lsq-signin-form', novalidate: true},
    h('h1', {}, 'Leads Not Contacted'),
    h('p', {class: 'muted'}, 'Sign in with your organization\'s LeadSquared key pair.'),
    h('label', {for: 'lsq-access-key'}, 'Access key'), access,
    h('label', {for: 'lsq-secret-key'}, 'Secret key'), secret,
    h('p', {class: 'hint'}, 'Kept in this browser tab only and sent in request headers; never in a URL.'),
    error,
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'btn btn-primary', id: 'lsq-signin-submit'}, 'Sign in')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const a = access.value.trim();
    const s = secret.value.trim();
    if (!a || !s) {
      error.textContent = 'Enter both keys.';
      error.hidden = false;
      return;
    }
    setLsqSession(a, s);
    access.value = '';
    secret.value = '';
    then();
  });
  replace(container, form);
  access.focus();
}

export function mountLsq(main, ctx) {
  document.title = 'Leads Not Contacted · leadflow';
  let abort = null;
  let active = true;

  function show(message) {
    if (!lsqSession()) {
      signInForm(main, {message, then: () => { ctx.refreshAccount(); show(); runFirst(); }});
      return;
    }
    renderPage();
  }

  // ---- the page
  let form = loadForm();
  let filters = null; // of the last run
  let page = 1;
  let total = 0;
  const els = {};

  function renderPage() {
    const field = (id, label, input, hint) => h('div', {class: 'field'}, h('label', {for: id}, label), input,
      hint ? h('span', {class: 'hint'}, hint) : null);
    els.activities = h('input', {id: 'lsq-activities', value: form.activities, inputmode: 'numeric', placeholder: 'e.g. 21, 22', autocomplete: 'off'});
    els.from = h('input', {id: 'lsq-from', type: 'datetime-local', step: '1', value: form.from});
    els.to = h('input', {id: 'lsq-to', type: 'datetime-local', step: '1', value: form.to});
    els.owners = h('input', {id: 'lsq-owners', value: form.owners, placeholder: 'e.g. user_1, user_2', autocomplete: 'off'});
    els.field = h('input', {id: 'lsq-field', value: form.field, placeholder: 'e.g. Source', autocomplete: 'off'});
    els.op = h('select', {id: 'lsq-op'}, OPERATORS.map((o) => h('option', {value: o, selected: o === form.op}, o)));
    els.value = h('input', {id: 'lsq-value', value: form.value, placeholder: 'e.g. web', autocomplete: 'off'});
    els.submit = h('button', {type: 'submit', class: 'btn btn-primary', id: 'lsq-run'}, 'Run report');
    els.form = h('form', {class: 'card lsq-form', id: 'lsq-form'},
      h('div', {class: 'grid'},
        field('lsq-activities', 'Activity codes not posted', els.activities, 'Comma-separated; empty: any activity'),
        field('lsq-from', 'Activity window from (UTC)', els.from),
        field('lsq-to', 'Activity window to (UTC)', els.to),
        field('lsq-owners', 'Owners (user ids)', els.owners, 'Comma-separated; empty: every owner')),
      h('fieldset', {class: 'lead-filter'},
        h('legend', {}, 'Lead filter'),
        field('lsq-field', 'Field', els.field),
        field('lsq-op', 'Operator', els.op),
        field('lsq-value', 'Value', els.value, 'in, not in, between: comma-separated')),
      h('div', {class: 'actions'}, els.submit,
        h('button', {type: 'button', class: 'btn btn-quiet', id: 'lsq-reset', on: {click: resetForm}}, 'Reset'),
        h('button', {type: 'button', class: 'btn btn-quiet', id: 'lsq-signout', on: {click: () => { signOutLsq(); ctx.refreshAccount(); show(); }}},
          'Forget LeadSquared keys')));
    els.form.addEventListener('submit', (e) => {
      e.preventDefault();
      run();
    });
    els.error = h('div', {class: 'error-area', id: 'lsq-error'});
    els.total = h('span', {id: 'lsq-total', class: 'big-number'}, '—');
    els.csv = h('button', {type: 'button', class: 'btn', id: 'lsq-csv', disabled: true, on: {click: downloadCsv}}, 'Download CSV');
    els.csvNote = h('span', {class: 'hint', id: 'lsq-csv-note'});
    els.list = h('div', {id: 'lsq-list'}, h('p', {class: 'empty'}, 'Run the report to see the leads.'));
    els.prev = h('button', {type: 'button', class: 'btn', id: 'lsq-prev', disabled: true, on: {click: () => loadPage(page - 1)}}, '← Previous');
    els.next = h('button', {type: 'button', class: 'btn', id: 'lsq-next', disabled: true, on: {click: () => loadPage(page + 1)}}, 'Next →');
    els.range = h('span', {class: 'muted', id: 'lsq-range'});
    els.chart = h('div', {id: 'lsq-chart-area'});
    replace(main,
      h('div', {class: 'page-head'},
        h('div', {}, h('h1', {}, 'Leads Not Contacted'),
          h('p', {class: 'subtitle'}, 'Leads on which none of the given activities was posted in the window')),
        h('div', {class: 'stat'}, els.total, h('span', {class: 'stat-label'}, 'leads'))),
      els.form,
      els.error,
      h('section', {class: 'card', 'aria-labelledby': 'lsq-list-title'},
        h('div', {class: 'card-head'}, h('h2', {id: 'lsq-list-title'}, 'Leads'), h('div', {}, els.csvNote, els.csv)),
        els.list,
        h('div', {class: 'pager'}, els.prev, els.range, els.next)),
      h('section', {class: 'card', 'aria-labelledby': 'lsq-chart-title'},
        h('h2', {id: 'lsq-chart-title'}, 'By owner'), els.chart));
  }

  function readForm() {
    form = {
      activities: els.activities.value, from: els.from.value, to: els.to.value, owners: els.owners.value,
      field: els.field.value, op: els.op.value, value: els.value.value,
    };
    sessionStorage.setItem(FORM_KEY, JSON.stringify(form));
  }

  function resetForm() {
    sessionStorage.removeItem(FORM_KEY);
    form = {...EMPTY_FORM};
    renderPage();
  }

  function fail(err) {
    if (err.name === 'AbortError' || !active) return true;
    if (err instanceof ApiError && err.status === 401) {
      signOutLsq();
      ctx.refreshAccount();
      show(`${err.message}. Sign in again with the org's key pair.`);
      return true;
    }
    replace(els.error, errorBox(err.message, 'lsq-error-message'));
    return false;
  }

  function busy(on) {
    els.submit.disabled = on;
    els.submit.textContent = on ? 'Running…' : 'Run report';
  }

  async function run() {
    readForm();
    const f = filtersOf(form);
    replace(els.error);
    if (f.error) {
      replace(els.error, errorBox(f.error, 'lsq-error-message'));
      return;
    }
    filters = f;
    busy(true);
    const ok = await loadPage(1);
    if (ok) await loadAggregate();
    busy(false);
  }

  async function loadPage(n) {
    if (!filters) return false;
    if (abort) abort.abort();
    abort = new AbortController();
    const signal = abort.signal;
    els.prev.disabled = true;
    els.next.disabled = true;
    els.list.classList.add('stale');
    try {
      const res = await lsqPost(listBody(filters, n), {signal});
      const body = await res.json();
      page = n;
      total = Number(body.TotalCount) || 0;
      els.total.textContent = fmtInt(total);
      els.total.dataset.value = String(total);
      const rows = Array.isArray(body.Results) ? body.Results : [];
      const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
      els.range.textContent = `Page ${fmtInt(page)} of ${fmtInt(pages)}`;
      els.prev.disabled = page <= 1;
      els.next.disabled = page >= pages;
      els.csv.disabled = total === 0;
      els.csvNote.textContent = total > CSV_ROWS ? `The file holds the first ${fmtInt(CSV_ROWS)} leads. ` : '';
      els.list.classList.remove('stale');
      replace(els.list, rows.length ? table(rows) : h('p', {class: 'empty'}, 'No leads: every lead had one of these activities.'));
      replace(els.error);
      return true;
    } catch (err) {
      els.list.classList.remove('stale');
      if (!fail(err)) {
        els.prev.disabled = page <= 1;
      }
      return false;
    }
  }

  async function loadAggregate() {
    try {
      const res = await lsqPost(aggregateBody(filters));
      const body = await res.json();
      const rows = (Array.isArray(body.Results) ? body.Results : [])
        .map((r) => ({owner: r.OwnerId === null || r.OwnerId === undefined || r.OwnerId === '' ? '(no owner)' : String(r.OwnerId), n: Number(r.Count) || 0}))
        .sort((a, b) => b.n - a.n || a.owner.localeCompare(b.owner));
      replace(els.chart, rows.length
        ? barChart({id: 'lsq-chart', title: 'Leads not contacted per owner', categories: rows.map((r) => r.owner),
          series: [{name: 'Leads', values: rows.map((r) => r.n)}]})
        : h('p', {class: 'empty'}, 'Nothing to chart.'));
    } catch (err) {
      fail(err);
    }
  }

  async function downloadCsv() {
    if (!filters) return;
    els.csv.disabled = true;
    els.csv.textContent = 'Preparing…';
    try {
      const res = await lsqPost(listBody(filters, 1, CSV_ROWS), {csv: true});
      const blob = await res.blob();
      const url = URL.createObjectURL(new Blob([blob], {type: 'text/csv'}));
      const a = h('a', {href: url, download: 'LeadsNotContacted.csv', hidden: true});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30000);
    } catch (err) {
      fail(err);
    } finally {
      if (els.csv.isConnected) {
        els.csv.disabled = false;
        els.csv.textContent = 'Download CSV';
      }
    }
  }

  function cell(r, c, i) {
    const v = r[c.name] ?? '—';
    if (i === 0) return h('th', {scope: 'row'}, v);
    const content = c.name === 'ProspectStage' && r[c.name] ? h('span', {class: 'pill'}, v) : v;
    return h('td', {class: c.name === 'CreatedOn' || c.name.includes('Date') ? 'nowrap' : null}, content);
  }

  function table(rows) {
    const head = h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', {scope: 'col'}, c.label))));
    const body = h('tbody', {}, rows.map((r) => h('tr', {'data-lead-id': r.ProspectID ?? ''}, COLUMNS.map((c, i) => cell(r, c, i)))));
    return h('div', {class: 'table-scroll'},
      h('table', {class: 'data-table', id: 'lsq-table'}, h('caption', {class: 'visually-hidden'}, 'Leads not contacted'), head, body));
  }

  function runFirst() {
    if (lsqSession() && els.form) run();
  }

  show();
  if (lsqSession()) run();
  return () => {
    active = false;
    if (abort) abort.abort();
  };
}
