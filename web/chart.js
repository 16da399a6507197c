// A grouped bar chart drawn as SVG (no library): one group per category, one
// bar per series. Colors come from app.css classes (.series-N).

import {h, s, fmtInt} from '/assets/dom.js';

/** A step of 1, 2 or 5 times a power of ten (whole numbers: the values are counts). */
function niceStep(max, ticks) {
  const raw = Math.max(max / ticks, 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw && Number.isInteger(m * p)) return m * p;
  return 10 * p;
}

function shorten(label, n) {
  return label.length > n ? `${label.slice(0, n - 1)}…` : label;
}

/**
 * barChart({title, categories: [label], series: [{name, values: [n]}], id})
 * → a <figure> holding the chart, its legend and a caption.
 */
export function barChart({title, categories, series, id, description}) {
  const groups = Math.max(categories.length, 1);
  const perBar = series.length;
  const left = 48;
  const right = 12;
  const top = 14;
  const plotH = 200;
  const labelH = 40;
  // At least 720 units wide (the chart fills its card), more when the
  // categories need it (it then scrolls sideways on a narrow screen).
  const minGroupW = Math.max(perBar * 18 + 24, 64);
  const width = Math.max(left + right + groups * minGroupW, 720);
  const groupW = (width - left - right) / groups;
  const barW = Math.min(perBar > 1 ? 36 : 56, (groupW - 16) / perBar);
  const height = top + plotH + labelH;
  const dataMax = Math.max(0, ...series.flatMap((x) => x.values.map(Number).filter(Number.isFinite)));
  const ticks = 4;
  const step = niceStep(dataMax, ticks);
  const max = step * Math.max(1, Math.ceil(dataMax / step));
  const y = (v) => top + plotH - (Math.max(0, v) / max) * plotH;

  const svg = s('svg', {
    class: width > 720 ? 'chart-svg wide' : 'chart-svg',
    viewBox: `0 0 ${width} ${height}`,
    width: width > 720 ? Math.round(width * 1.3) : null,
    height: width > 720 ? Math.round(height * 1.3) : null,
    role: 'img',
    'aria-label': title,
    preserveAspectRatio: 'xMinYMin meet',
  });
  svg.append(s('title', {}, title));
  if (description) svg.append(s('desc', {}, description));

  for (let v = 0; v <= max; v += step) {
    const yy = y(v);
    svg.append(
      s('line', {class: 'chart-grid', x1: left, x2: width - right, y1: yy, y2: yy}),
      s('text', {class: 'chart-tick', x: left - 6, y: yy + 4, 'text-anchor': 'end'}, fmtInt(v)),
    );
  }

  categories.forEach((label, gi) => {
    const gx = left + gi * groupW;
    const inner = perBar * barW + (perBar - 1) * 2;
    const x0 = gx + (groupW - inner) / 2;
    series.forEach((ser, si) => {
      const v = Number(ser.values[gi]) || 0;
      const yy = y(v);
      const hgt = Math.max(top + plotH - yy, v > 0 ? 1 : 0);
      const bar = s('rect', {
        class: `chart-bar series-${perBar === 1 ? 1 : si}`,
        x: x0 + si * (barW + 2),
        y: top + plotH - hgt,
        width: barW,
        height: hgt,
        rx: 2,
        'data-category': label,
        'data-series': ser.name,
        'data-value': v,
      });
      bar.append(s('title', {}, `${label} — ${ser.name}: ${fmtInt(v)}`));
      svg.append(bar);
    });
    const text = s('text', {class: 'chart-label', x: gx + groupW / 2, y: top + plotH + 16, 'text-anchor': 'middle'},
      shorten(String(label), Math.max(6, Math.floor(groupW / 7))));
    text.append(s('title', {}, String(label)));
    svg.append(text);
  });
  svg.append(s('line', {class: 'chart-axis', x1: left, x2: width - right, y1: top + plotH, y2: top + plotH}));

  const legend = series.length > 1
    ? h('ul', {class: 'chart-legend'}, series.map((ser, si) =>
      h('li', {}, h('span', {class: `swatch series-${si}`, 'aria-hidden': 'true'}), ser.name)))
    : null;
  return h('figure', {class: 'chart', id},
    h('div', {class: 'chart-scroll'}, svg),
    legend,
    h('figcaption', {class: 'visually-hidden'}, title));
}
