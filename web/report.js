// The lead status change report (Close's "Lead Status Changes"), kept live by
// the report stream: GET /api/v1/report/statuses/lead/{org}/stream.

import {h, replace, fmtInt, fmtTime, errorBox} from '/assets/dom.js';
import {closeSession, closeJson, closeHeaders, onSignOut} from '/assets/session.js';
import {PRESETS, periodOf, tzOffsetHours} from '/assets/period.js';
import {LiveStream} from '/assets/sse.js';
import {barChart} from '/assets/chart.js';

const PARAMS_KEY = 'leadflow.report.params';

const PERIOD_COLUMNS = [
  {field: 'started', label: 'Started', title: 'Leads in the status at the start of the period'},
  {field: 'ended', label: 'Ended', title: 'Leads in the status at the end of the period'},
  {field: 'change', label: 'Change', title: 'Ended minus started'},
  {field: 'change_percent', label: 'Change %', title: 'Change relative to started'},
  {field: 'gained', label: 'Gained', title: 'Not in the status at the start, in it at the end'},
  {field: 'lost', label: 'Lost', title: 'In the status at the start, not at the end'},
  {field: 'entered', label: 'Entered', title: 'Leads that entered the status during the period'},
  {field: 'left', label: 'Left', title: 'Leads that left the status during the period'},
];
const OVERALL_COLUMNS = [
  {field: 'ended', label: 'Current', title: 'Leads in the status now'},
  {field: 'entered', label: 'Entered', title: 'Leads that ever entered the status'},
  {field: 'left', label: 'Left', title: 'Leads that ever left the status'},
];

function loadParams() {
  const d = {preset: 'last30', from: '', to: '', query: '', viewId: ''};
  try {
    const v = JSON.parse(sessionStorage.getItem(PARAMS_KEY) || 'null');
    if (v && typeof v === 'object') {
      for (const k of Object.keys(d)) if (typeof v[k] === 'string') d[k] = v[k];
    }
  } catch {
    // defaults
  }
  if (!PRESETS.some((p) => p.id === d.preset)) d.preset = 'last30';
  return d;
}

function saveParams(p) {
  sessionStorage.setItem(PARAMS_KEY, JSON.stringify(p));
}

/** The report's query string (without '?'), percent-encoded. */
export function reportQuery(period, params) {
  const parts = [];
  const add = (k, v) => parts.push(`${k}=${encodeURIComponent(v)}`);
  if (period.date_start) add('date_start', period.date_start);
  if (period.date_end) add('date_end', period.date_end);
  if (params.viewId) add('smart_view_id', params.viewId);
  else if (params.query.trim()) add('query', params.query);
  return parts.join('&');
}

function cellLabel(n) {
  return n === 1 ? '1 lead' : `${fmtInt(n)} leads`;
}

function countCell(row, field, fmt = fmtInt) {
  const v = row[field];
  const url = row._leads_page_urls && row._leads_page_urls[field];
  const td = h('td', {class: 'num', 'data-field': field, 'data-value': v === null || v === undefined ? '' : v});
  if (field === 'change' && typeof v === 'number') td.classList.add(v > 0 ? 'pos' : (v < 0 ? 'neg' : 'zero'));
  if (field === 'change_percent') {
    td.textContent = v === null || v === undefined ? '—' : `${fmtInt(v)}%`;
    if (typeof v === 'number') td.classList.add(v > 0 ? 'pos' : (v < 0 ? 'neg' : 'zero'));
    return td;
  }
  if (url && typeof url === 'string' && url.startsWith('/search/')) {
    td.append(h('a', {href: url, class: 'cell-link', title: `${cellLabel(v)}: ${row.status_label}, ${field}`}, fmt(v)));
  } else {
    td.textContent = fmt(v);
  }
  return td;
}

function statusName(label, deleted) {
  return [label ?? '(unnamed)', deleted ? h('span', {class: 'badge'}, 'deleted') : null];
}

function overviewTable(report, overall) {
  const cols = overall ? OVERALL_COLUMNS : PERIOD_COLUMNS;
  const rows = report.status_overview || [];
  const table = h('table', {class: 'data-table report-table', id: 'report-table', 'data-kind': overall ? 'overall' : 'period'},
    h('caption', {class: 'visually-hidden'}, 'Leads per status'),
    h('thead', {}, h('tr', {},
      h('th', {scope: 'col'}, 'Status'),
      cols.map((c) => h('th', {scope: 'col', class: 'num', title: c.title, 'data-field': c.field}, c.label)))),
    h('tbody', {}, rows.map((row) => h('tr', {'data-status-id': row.status_id},
      h('th', {scope: 'row'}, statusName(row.status_label, row.status_is_deleted)),
      cols.map((c) => countCell(row, c.field, c.field === 'change' ? signed : fmtInt))))));
  if (!rows.length) return h('p', {class: 'empty'}, 'No statuses yet.');
  return h('div', {class: 'table-scroll'}, table);
}

function signed(v) {
  if (typeof v !== 'number') return fmtInt(v);
  return v > 0 ? `+${fmtInt(v)}` : fmtInt(v);
}

/** The statuses in the report's order, then any only the transitions name. */
function statusOrder(report, transitions) {
  const order = [];
  const seen = new Map();
  const add = (id, label, deleted) => {
    if (id === null || id === undefined || seen.has(id)) return;
    seen.set(id, {id, label, deleted});
    order.push(id);
  };
  for (const r of report.status_overview || []) add(r.status_id, r.status_label, r.status_is_deleted);
  for (const t of transitions) {
    add(t.from_status_id, t.from_status_label, t.from_status_is_deleted);
    add(t.to_status_id, t.to_status_label, t.to_status_is_deleted);
  }
  return {order, info: seen};
}

const CREATED = '';

function transitionMatrix(report, transitions, {id, caption}) {
  if (!transitions.length) return h('p', {class: 'empty', id}, 'No status changes in this period.');
  const {order, info} = statusOrder(report, transitions);
  const cells = new Map();
  const froms = new Set();
  const tos = new Set();
  for (const t of transitions) {
    const f = t.from_status_id ?? CREATED;
    cells.set(`${f}\u0000${t.to_status_id}`, t);
    froms.add(f);
    tos.add(t.to_status_id);
  }
  const rows = [...(froms.has(CREATED) ? [CREATED] : []), ...order.filter((s) => froms.has(s))];
  const cols = order.filter((s) => tos.has(s));
  const label = (sid) => (sid === CREATED ? h('em', {}, 'Created') : statusName(info.get(sid).label, info.get(sid).deleted));
  return h('div', {class: 'table-scroll'}, h('table', {class: 'data-table matrix', id},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {},
      h('th', {scope: 'col', class: 'corner'}, h('span', {class: 'from'}, 'From'), ' \\ ', h('span', {class: 'to'}, 'To')),
      cols.map((c) => h('th', {scope: 'col', class: 'num'}, label(c))))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('th', {scope: 'row'}, label(r)),
      cols.map((c) => {
        const t = cells.get(`${r}\u0000${c}`);
        if (!t) return h('td', {class: 'num empty-cell', 'aria-label': 'none'}, '·');
        const td = h('td', {class: 'num', 'data-from': r, 'data-to': c, 'data-value': t.count});
        if (t._leads_page_url && t._leads_page_url.startsWith('/search/')) {
          td.append(h('a', {href: t._leads_page_url, class: 'cell-link',
            title: `${cellLabel(t.count)}: ${t.from_status_label ?? 'created'} → ${t.to_status_label}`}, fmtInt(t.count)));
        } else {
          td.textContent = fmtInt(t.count);
        }
        return td;
      }))))));
}

function chartOf(report, overall) {
  const rows = report.status_overview || [];
  if (!rows.length) return null;
  const categories = rows.map((r) => r.status_label ?? r.status_id);
  const series = overall
    ? [{name: 'Current', values: rows.map((r) => r.ended)}]
    : [{name: 'Started', values: rows.map((r) => r.started)}, {name: 'Ended', values: rows.map((r) => r.ended)}];
  return barChart({
    id: 'status-chart',
    title: overall ? 'Leads per status now' : 'Leads per status at the start and the end of the period',
    categories,
    series,
  });
}

export function mountReport(main, ctx) {
  const session = closeSession();
  const params = loadParams();
  document.title = 'Lead status changes · leadflow';
  let stream = null;
  let views = [];

  // ---- header and controls
  const periodLabel = h('span', {class: 'period-label', id: 'period-label'});
  const liveStatus = h('span', {class: 'live live-connecting', id: 'live-status', role: 'status'}, 'Connecting…');
  const lastUpdate = h('span', {class: 'last-update', id: 'last-update'}, '');
  const presetButtons = PRESETS.map((p) => h('button', {
    type: 'button', class: 'seg', 'data-preset': p.id, 'aria-pressed': String(p.id === params.preset),
    on: {click: () => choosePreset(p.id)},
  }, p.label));
  const fromInput = h('input', {type: 'date', id: 'custom-from', value: params.from});
  const toInput = h('input', {type: 'date', id: 'custom-to', value: params.to});
  const customForm = h('form', {class: 'custom-range', id: 'custom-range', hidden: params.preset !== 'custom'},
    h('div', {class: 'field'}, h('label', {for: 'custom-from'}, 'From'), fromInput),
    h('div', {class: 'field'}, h('label', {for: 'custom-to'}, 'To (inclusive)'), toInput),
    h('button', {type: 'submit', class: 'btn'}, 'Apply'));
  customForm.addEventListener('submit', (e) => {
    e.preventDefault();
    params.from = fromInput.value;
    params.to = toInput.value;
    apply();
  });

  const queryInput = h('input', {type: 'search', id: 'report-query', value: params.query, spellcheck: 'false',
    placeholder: 'e.g. "Source":"web" and owner_id:"user_1"', autocomplete: 'off'});
  const viewSelect = h('select', {id: 'smart-view'}, h('option', {value: ''}, 'All leads'));
  const filterForm = h('form', {class: 'filters', id: 'filter-form'},
    h('div', {class: 'field grow'}, h('label', {for: 'report-query'}, 'Lead search query'), queryInput),
    h('div', {class: 'field'}, h('label', {for: 'smart-view'}, 'Smart View'), viewSelect),
    h('div', {class: 'field actions'},
      h('button', {type: 'submit', class: 'btn btn-primary', id: 'apply-filter'}, 'Apply'),
      h('button', {type: 'button', class: 'btn btn-quiet', id: 'clear-filter', on: {click: clearFilter}}, 'Clear')));
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    params.query = queryInput.value;
    if (params.query.trim()) {
      params.viewId = '';
      viewSelect.value = '';
    }
    apply();
  });
  viewSelect.addEventListener('change', () => {
    params.viewId = viewSelect.value;
    if (params.viewId) {
      params.query = '';
      queryInput.value = '';
    }
    apply();
  });
  function clearFilter() {
    params.query = '';
    params.viewId = '';
    queryInput.value = '';
    viewSelect.value = '';
    apply();
  }

  const errorArea = h('div', {id: 'report-error', class: 'error-area'});
  const tableArea = h('section', {class: 'card', 'aria-labelledby': 'by-status'},
    h('h2', {id: 'by-status'}, 'By status'), h('div', {id: 'table-area'}, h('p', {class: 'loading'}, 'Loading…')));
  const chartArea = h('section', {class: 'card', 'aria-labelledby': 'chart-title'},
    h('h2', {id: 'chart-title'}, 'Chart'), h('div', {id: 'chart-area'}));
  const transArea = h('section', {class: 'card', 'aria-labelledby': 'trans-title'},
    h('h2', {id: 'trans-title'}, 'Status changes'), h('div', {id: 'transitions-area'}));
  const reportBody = h('div', {class: 'report-body', id: 'report-body'}, tableArea, chartArea, transArea);

  replace(main,
    h('div', {class: 'page-head'},
      h('div', {},
        h('h1', {}, 'Lead status changes'),
        h('p', {class: 'subtitle'}, periodLabel)),
      h('div', {class: 'live-box'}, liveStatus, lastUpdate)),
    h('section', {class: 'card controls', 'aria-label': 'Report parameters'},
      h('div', {class: 'seg-group', role: 'group', 'aria-label': 'Period'}, presetButtons),
      customForm,
      filterForm),
    errorArea,
    reportBody);

  // ---- the report
  function render(report) {
    // The overall report (no period) has no summary and no started/gained/lost.
    const overall = !Array.isArray(report.status_transitions_summary);
    replace(tableArea.querySelector('#table-area'), overviewTable(report, overall));
    const chart = chartOf(report, overall);
    replace(chartArea.querySelector('#chart-area'), chart || h('p', {class: 'empty'}, 'Nothing to chart.'));
    chartArea.querySelector('h2').textContent = overall ? 'Leads per status now' : 'Started and ended per status';
    const trans = report.status_transitions || [];
    const parts = [transitionMatrix(report, trans, {
      id: 'transitions-matrix',
      caption: overall ? 'Every status change (rows: from, columns: to)' : 'Status changes in the period (rows: from, columns: to)',
    })];
    if (Array.isArray(report.status_transitions_summary)) {
      parts.push(transitionMatrix(report, report.status_transitions_summary, {
        id: 'summary-matrix',
        caption: 'Summary: status at the start of the period (or created in it) → status at its end',
      }));
    }
    replace(transArea.querySelector('#transitions-area'), parts);
    reportBody.hidden = false;
    lastUpdate.textContent = `Updated ${fmtTime(new Date())}`;
    lastUpdate.dataset.updatedAt = String(Date.now());
  }

  function setLive(state, detail) {
    const text = {connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', closed: 'Stopped'}[state] || state;
    liveStatus.textContent = text;
    liveStatus.className = `live live-${state}`;
    liveStatus.title = detail || '';
    liveStatus.dataset.state = state;
  }

  function showLabel(period) {
    const filter = params.viewId
      ? ` · Smart View: ${views.find((v) => v.id === params.viewId)?.name ?? params.viewId}`
      : (params.query.trim() ? ' · filtered by query' : '');
    periodLabel.textContent = `${period.label}${filter}`;
  }

  function stopStream() {
    if (stream) stream.stop();
    stream = null;
  }

  function apply() {
    saveParams(params);
    presetButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.preset === params.preset)));
    customForm.hidden = params.preset !== 'custom';
    const period = periodOf(params.preset, {from: params.from, to: params.to});
    stopStream();
    replace(errorArea);
    if (period.error) {
      periodLabel.textContent = 'Custom period';
      replace(errorArea, errorBox(period.error));
      reportBody.hidden = true;
      setLive('closed');
      return;
    }
    showLabel(period);
    const qs = reportQuery(period, params);
    const url = `/api/v1/report/statuses/lead/${encodeURIComponent(session.org)}/stream${qs ? `?${qs}` : ''}`;
    reportBody.classList.add('stale');
    stream = new LiveStream({
      url,
      headers: closeHeaders(session.key, {'x-tz-offset': tzOffsetHours()}),
      onReport: (report) => {
        reportBody.classList.remove('stale');
        replace(errorArea);
        render(report);
      },
      onState: setLive,
      onFatal: (err) => {
        if (err.status === 401) {
          ctx.expired();
          return;
        }
        reportBody.hidden = true;
        replace(errorArea, errorBox(err.message, 'report-error-message'));
      },
    }).start();
  }

  function choosePreset(id) {
    params.preset = id;
    if (id === 'custom') {
      customForm.hidden = false;
      if (!fromInput.value) {
        presetButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.preset === id)));
        fromInput.focus();
        return;
      }
      params.from = fromInput.value;
      params.to = toInput.value;
    }
    apply();
  }

  // ---- Smart Views (the picker)
  const viewsAbort = new AbortController();
  (async () => {
    try {
      const all = [];
      for (let page = 0; page < 10; page++) {
        const res = await closeJson(`/api/v1/saved_search/?_limit=200&_skip=${page * 200}`, {signal: viewsAbort.signal});
        all.push(...(res.data || []));
        if (!res.has_more) break;
      }
      views = all;
      viewSelect.append(...all.map((v) => h('option', {value: v.id, title: v.query}, v.name)));
      if (params.viewId && !all.some((v) => v.id === params.viewId)) {
        params.viewId = '';
        apply();
      } else {
        viewSelect.value = params.viewId;
        const period = periodOf(params.preset, {from: params.from, to: params.to});
        if (!period.error) showLabel(period);
      }
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 401) return ctx.expired();
      viewSelect.append(h('option', {value: '', disabled: true}, `(Smart Views unavailable: ${err.message})`));
    }
  })();

  const offSignOut = onSignOut(stopStream);
  apply();

  return () => {
    viewsAbort.abort();
    offSignOut();
    stopStream();
  };
}
