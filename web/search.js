// /search/<query>/: the leads a report cell counts (its _leads_page_urls
// entry), from GET /api/v1/lead/?query=..., paged.

import {h, replace, fmtInt, fmtDateTime, errorBox} from '/assets/dom.js';
import {closeJson} from '/assets/session.js';

const PAGE = 50;

/** The query in a /search/<percent-encoded query>/ path, or throws URIError. */
export function queryOfPath(pathname) {
  let rest = pathname.slice('/search/'.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  return decodeURIComponent(rest);
}

/** The path of a query's lead list. */
export function pathOfQuery(query) {
  return `/search/${encodeURIComponent(query)}/`;
}

function leadName(lead) {
  const f = lead.fields || {};
  const name = [f.FirstName, f.LastName].filter((x) => typeof x === 'string' && x).join(' ');
  return name || (typeof f.Company === 'string' && f.Company) || (typeof f.Name === 'string' && f.Name) || lead.id;
}

export function mountSearch(main, ctx) {
  document.title = 'Leads · leadflow';
  let query;
  try {
    query = queryOfPath(location.pathname);
  } catch {
    replace(main, h('section', {class: 'card'}, h('h1', {}, 'Leads'),
      errorBox('This link holds no valid query (bad percent-encoding).'),
      h('p', {}, h('a', {href: '/', id: 'back-to-report'}, '← Back to the report'))));
    return null;
  }
  let skip = 0;
  let abort = null;

  const count = h('span', {id: 'lead-count', class: 'big-number'}, '…');
  const range = h('span', {class: 'muted', id: 'lead-range'});
  const prev = h('button', {type: 'button', class: 'btn', id: 'prev-page', disabled: true, on: {click: () => go(skip - PAGE)}}, '← Previous');
  const next = h('button', {type: 'button', class: 'btn', id: 'next-page', disabled: true, on: {click: () => go(skip + PAGE)}}, 'Next →');
  const list = h('div', {id: 'lead-list'});
  const error = h('div', {class: 'error-area', id: 'search-error'});
  const edit = h('input', {type: 'search', id: 'search-edit', value: query, spellcheck: 'false', autocomplete: 'off'});
  const form = h('form', {class: 'filters', id: 'search-form'},
    h('div', {class: 'field grow'}, h('label', {for: 'search-edit'}, 'Lead search query'), edit),
    h('div', {class: 'field actions'}, h('button', {type: 'submit', class: 'btn btn-primary'}, 'Search')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.assign(pathOfQuery(edit.value));
  });

  replace(main,
    h('p', {class: 'crumbs'}, h('a', {href: '/', id: 'back-to-report'}, '← Back to the report')),
    h('div', {class: 'page-head'},
      h('div', {},
        h('h1', {}, 'Leads'),
        h('p', {class: 'subtitle'}, 'Matching ', h('code', {id: 'search-query', class: 'query'}, query || '(every lead)'))),
      h('div', {class: 'stat'}, count, h('span', {class: 'stat-label'}, 'leads'))),
    h('section', {class: 'card controls'}, form),
    error,
    h('section', {class: 'card'},
      list,
      h('div', {class: 'pager'}, prev, range, next)));

  async function go(to) {
    skip = Math.max(0, to);
    if (abort) abort.abort();
    abort = new AbortController();
    prev.disabled = true;
    next.disabled = true;
    list.classList.add('stale');
    replace(error);
    try {
      const res = await closeJson(`/api/v1/lead/?query=${encodeURIComponent(query)}&_limit=${PAGE}&_skip=${skip}`,
        {signal: abort.signal});
      const leads = res.data || [];
      count.textContent = fmtInt(res.total_results);
      count.dataset.value = String(res.total_results);
      range.textContent = leads.length
        ? `${fmtInt(skip + 1)}–${fmtInt(skip + leads.length)} of ${fmtInt(res.total_results)}`
        : (skip ? 'No more leads' : '');
      prev.disabled = skip === 0;
      next.disabled = !res.has_more;
      list.classList.remove('stale');
      replace(list, leads.length ? table(leads) : h('p', {class: 'empty'}, 'No leads match.'));
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 401) return ctx.expired();
      count.textContent = '—';
      list.classList.remove('stale');
      replace(list);
      replace(error, errorBox(err.message, 'search-error-message'));
      prev.disabled = skip === 0;
    }
  }

  function table(leads) {
    return h('div', {class: 'table-scroll'}, h('table', {class: 'data-table', id: 'lead-table'},
      h('caption', {class: 'visually-hidden'}, 'Leads'),
      h('thead', {}, h('tr', {},
        h('th', {scope: 'col'}, 'Lead'),
        h('th', {scope: 'col'}, 'Status'),
        h('th', {scope: 'col'}, 'Owner'),
        h('th', {scope: 'col'}, 'Created'),
        h('th', {scope: 'col'}, 'Updated'))),
      h('tbody', {}, leads.map((l) => h('tr', {'data-lead-id': l.id},
        h('th', {scope: 'row'}, h('div', {class: 'lead-name'}, leadName(l)), h('div', {class: 'lead-id'}, l.id)),
        h('td', {}, h('span', {class: 'pill'}, l.status_label ?? l.status_id ?? '—')),
        h('td', {}, l.owner_id ?? '—'),
        h('td', {class: 'nowrap'}, h('time', {datetime: l.date_created}, fmtDateTime(l.date_created))),
        h('td', {class: 'nowrap'}, h('time', {datetime: l.date_updated}, fmtDateTime(l.date_updated))))))));
  }

  go(0);
  return () => {
    if (abort) abort.abort();
  };
}
