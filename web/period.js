// Report periods in the browser's time zone. Dates go to the API as local
// calendar days (YYYY-MM-DD) with the zone's offset in x-tz-offset; the end is
// exclusive: the day after the period's last day.

export const PRESETS = [
  {id: 'today', label: 'Today'},
  {id: 'week', label: 'This week'},
  {id: 'month', label: 'This month'},
  {id: 'last30', label: 'Last 30 days'},
  {id: 'custom', label: 'Custom'},
  {id: 'all', label: 'All time'},
];

const pad = (n) => String(n).padStart(2, '0');

/** A local Date as YYYY-MM-DD. */
export function ymd(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** YYYY-MM-DD as a local midnight, or null. */
export function parseYmd(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return ymd(d) === s ? d : null;
}

function addDays(d, n) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
}

/** Hours east of UTC now, as the x-tz-offset header wants it. */
export function tzOffsetHours(now = new Date()) {
  const v = -now.getTimezoneOffset() / 60;
  return String(Object.is(v, -0) ? 0 : v);
}

/**
 * The period of a preset: {date_start, date_end, label} (date_end exclusive),
 * {label} alone for all time, or {error}.
 */
export function periodOf(preset, custom = {}, now = new Date()) {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const tomorrow = addDays(today, 1);
  let first;
  let last = today;
  switch (preset) {
    case 'all':
      return {label: 'All time'};
    case 'today':
      first = today;
      break;
    case 'week':
      first = addDays(today, -((today.getDay() + 6) % 7)); // Monday
      break;
    case 'month':
      first = new Date(today.getFullYear(), today.getMonth(), 1);
      break;
    case 'last30':
      first = addDays(today, -29);
      break;
    case 'custom': {
      first = parseYmd(custom.from);
      if (!first) return {error: 'Choose a start date.'};
      if (!custom.to) {
        return {date_start: ymd(first), label: `${fmtDay(first)} – now`};
      }
      last = parseYmd(custom.to);
      if (!last) return {error: 'The end date is not a date.'};
      if (last < first) return {error: 'The end date is before the start date.'};
      return {date_start: ymd(first), date_end: ymd(addDays(last, 1)), label: rangeLabel(first, last)};
    }
    default:
      return {error: `Unknown period ${preset}`};
  }
  return {date_start: ymd(first), date_end: ymd(tomorrow), label: rangeLabel(first, last)};
}

function fmtDay(d, withYear = true) {
  return d.toLocaleDateString(undefined, withYear ? {year: 'numeric', month: 'short', day: 'numeric'} : {month: 'short', day: 'numeric'});
}

function rangeLabel(first, last) {
  if (ymd(first) === ymd(last)) return fmtDay(first);
  return `${fmtDay(first, first.getFullYear() !== last.getFullYear())} – ${fmtDay(last)}`;
}
