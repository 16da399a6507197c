// Small DOM helpers. Everything the page shows is built with DOM APIs (never
// innerHTML with data, never style attributes: the CSP forbids inline styles).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden') el[k] = Boolean(v);
    else if (k === 'style') throw new Error('style attributes are not allowed (CSP)');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** h('div', {class: 'x', on: {click: fn}}, child, ...) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  return append(el, children);
}

/** An SVG element with presentation attributes. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

const intFormat = new Intl.NumberFormat(undefined, {maximumFractionDigits: 0});
const numFormat = new Intl.NumberFormat(undefined, {maximumFractionDigits: 2});

/** A count, with the locale's digit grouping. */
export function fmtInt(n) {
  if (n === null || n === undefined || n === '') return '—';
  const v = Number(n);
  return Number.isFinite(v) ? (Number.isInteger(v) ? intFormat.format(v) : numFormat.format(v)) : String(n);
}

/** An ISO instant as a short local date and time. */
export function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
}

export function fmtTime(d) {
  return d.toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit', second: '2-digit'});
}

/** An alert box for an error message (role=alert so screen readers read it). */
export function errorBox(message, id) {
  return h('div', {class: 'alert alert-error', role: 'alert', id}, message);
}

export function spinner(label = 'Loading…') {
  return h('p', {class: 'loading', role: 'status'}, h('span', {class: 'spinner', 'aria-hidden': 'true'}), label);
}
