// The month's days as an inline SVG of plain stacked bars, one per day, drawn at the width the page gives it.
// The days table below the chart holds the same numbers as text: the chart is for the eye, the table for reading,
// the keyboard and screen readers.

import { svg } from './dom.js';
import { count, t } from './i18n.js';

/** Bottom to top: what a bar stacks, in the order the summary names the statuses. */
export const stacked = ['sent', 'failed', 'excluded', 'uncertain', 'pending'];

const height = 200;
const top = 12;
const bottom = 22; // room for the day numbers
const left = 40; // room for the scale

/** A round step for the scale: 1, 2 or 5 times a power of ten. */
function niceStep(max) {
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  for (const m of [1, 2, 5, 10]) if (m * power >= rough) return m * power;
  return 10 * power;
}

/**
 * Draws `days` (the summary's [{date, total, <status>: n}]) into `host`, replacing what was there; a click on a
 * bar calls onDay(date).
 */
export function drawChart(host, days, month, onDay) {
  const width = Math.max(host.clientWidth, 280);
  const max = Math.max(1, ...days.map((d) => d.total));
  const step = niceStep(max);
  const scaleMax = Math.ceil(max / step) * step;
  const plot = height - top - bottom;
  const slot = (width - left) / days.length;
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  const y = (n) => top + plot - (n / scaleMax) * plot;

  const grid = [];
  for (let v = 0; v <= scaleMax; v += step) {
    grid.push(svg('line', { x1: left, x2: width, y1: y(v), y2: y(v), class: 'grid' }));
    grid.push(svg('text', { x: left - 6, y: y(v) + 4, class: 'scale' }, count(v)));
  }
  const bars = days.map((d, i) => {
    const x = left + i * slot + (slot - barWidth) / 2;
    let base = 0;
    // Every status a day has shows, if only as a sliver: a few failures beside thousands of sends still count.
    let lift = 0;
    const parts = stacked
      .filter((s) => d[s] > 0)
      .map((s) => {
        const h = Math.max(2, y(base) - y(base + d[s]));
        const rect = svg('rect', { x, width: barWidth, y: y(base) - lift - h, height: h, class: `bar-${s}` });
        lift += h - (y(base) - y(base + d[s]));
        base += d[s];
        return rect;
      });
    const dayNumber = Number(d.date.slice(8));
    const label = dayNumber === 1 || dayNumber % 5 === 0
      ? svg('text', { x: x + barWidth / 2, y: height - 6, class: 'day' }, String(dayNumber))
      : null;
    const details = stacked.filter((s) => d[s] > 0).map((s) => `${t(`status.${s}`)} ${count(d[s])}`).join(', ');
    // A hit area the height of the plot, so that a day with few sends is as easy to click as a busy one.
    const hit = svg('rect', { x: left + i * slot, width: slot, y: top, height: plot, class: 'hit' });
    return svg('g', { class: d.total > 0 ? 'bar has-sends' : 'bar', dataset: { day: d.date } },
      svg('title', {}, `${t('chart.bar', { date: d.date, total: count(d.total) })}${details ? ` (${details})` : ''}`),
      hit, parts, label);
  });
  const chart = svg('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': t('chart.label', { month }),
  }, grid, bars);
  chart.addEventListener('click', (event) => {
    const bar = event.target.closest('g.bar.has-sends');
    if (bar) onDay(bar.dataset.day);
  });
  host.replaceChildren(chart);
}
