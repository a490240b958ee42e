import type { Bar } from "./data";
import { dollars, escape } from "./html";

/**
 * Charts as inline SVG, drawn on the server: no script, no font or image to fetch, so the page
 * renders with no network at all. Every bar carries its exact figure in a `<title>` (tooltip)
 * and in `data-` attributes.
 */

/** Vertical bars, one per day, with a label every few days. */
export function dayChart(bars: Bar[], id: string): string {
  const width = 720;
  const height = 180;
  const top = 16;
  const bottom = 24;
  const max = maxOf(bars);
  const step = width / Math.max(bars.length, 1);
  const labelEvery = Math.ceil(bars.length / 8);
  const parts = bars.map((bar, i) => {
    const h = Math.round(((height - top - bottom) * Number(bar.atomic)) / Number(max));
    const x = (i * step + 2).toFixed(1);
    const y = height - bottom - h;
    const label =
      i % labelEvery === 0
        ? `<text x="${x}" y="${height - 6}" font-size="10" fill="#666">${escape(bar.label.slice(5))}</text>`
        : "";
    return `<rect x="${x}" y="${y}" width="${(step - 4).toFixed(1)}" height="${h}" fill="#3b6fd8"
      data-day="${escape(bar.label)}" data-usd="${escape(dollars(bar.atomic))}" data-count="${bar.count}"><title>${escape(bar.label)}: ${escape(dollars(bar.atomic))} (${bar.count} payments)</title></rect>${label}`;
  });
  return `<svg id="${escape(id)}" viewBox="0 0 ${width} ${height}" width="100%" role="img"
    aria-label="revenue per day" xmlns="http://www.w3.org/2000/svg">
    <line x1="0" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" stroke="#ccc"/>
    <text x="0" y="11" font-size="10" fill="#666">max ${escape(dollars(max))}</text>
    ${parts.join("\n")}</svg>`;
}

/** Horizontal bars with their label and figure, largest first. */
export function barChart(bars: Bar[], id: string, attribute: string, empty: string): string {
  if (bars.length === 0) return `<p class="empty" id="${escape(id)}">${escape(empty)}</p>`;
  const width = 720;
  const row = 22;
  const labelWidth = 260;
  const valueWidth = 130;
  const max = maxOf(bars);
  const rows = bars.map((bar, i) => {
    const y = i * row;
    const w = Math.max(
      1,
      Math.round(((width - labelWidth - valueWidth) * Number(bar.atomic)) / Number(max)),
    );
    const label = bar.label.length > 40 ? `${bar.label.slice(0, 39)}…` : bar.label;
    return `<g ${attribute}="${escape(bar.label)}" data-usd="${escape(dollars(bar.atomic))}" data-count="${bar.count}">
      <title>${escape(bar.label)}: ${escape(dollars(bar.atomic))} (${bar.count} payments)</title>
      <text x="0" y="${y + 15}" font-size="12">${escape(label)}</text>
      <rect x="${labelWidth}" y="${y + 4}" width="${w}" height="${row - 8}" fill="#2f9e6e"/>
      <text x="${labelWidth + w + 6}" y="${y + 15}" font-size="12">${escape(dollars(bar.atomic))} · ${bar.count}</text></g>`;
  });
  return `<svg id="${escape(id)}" viewBox="0 0 ${width} ${bars.length * row}" width="100%" role="img"
    xmlns="http://www.w3.org/2000/svg">${rows.join("\n")}</svg>`;
}

function maxOf(bars: Bar[]): bigint {
  return bars.reduce((max, bar) => (bar.atomic > max ? bar.atomic : max), 1n);
}
