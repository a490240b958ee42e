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

/**
 * Horizontal bars with their label and figure, largest first, as HTML rows (a grid: label, bar,
 * figure), so a long label wraps inside its own column instead of running into the bar. A
 * bar's `detail` (a crawler's key) shows shortened under its label, whole in the tooltip.
 */
export function barChart(bars: Bar[], id: string, attribute: string, empty: string): string {
  if (bars.length === 0) return `<p class="empty" id="${escape(id)}">${escape(empty)}</p>`;
  const max = maxOf(bars);
  const rows = bars.map((bar) => {
    const share = Number((bar.atomic * 10_000n) / max) / 100;
    const detail = bar.detail
      ? `<small class="detail" title="${escape(bar.detail)}">key ${escape(shortKey(bar.detail))}</small>`
      : "";
    const tip = `${bar.label}${bar.detail ? ` (key ${bar.detail})` : ""}: ${dollars(bar.atomic)} (${bar.count} payments)`;
    return `<div class="bar-row" ${attribute}="${escape(bar.label)}"${bar.detail ? ` data-key="${escape(bar.detail)}"` : ""} data-usd="${escape(dollars(bar.atomic))}" data-count="${bar.count}" title="${escape(tip)}">
      <div class="bar-label"><span>${escape(bar.label)}</span>${detail}</div>
      <div class="bar-track"><div class="bar" style="width:${Math.max(share, 0.5)}%"></div></div>
      <div class="bar-value">${escape(dollars(bar.atomic))} · ${bar.count}</div></div>`;
  });
  return `<div class="bars" id="${escape(id)}" role="img">${rows.join("\n")}</div>`;
}

/** One step of the funnel chart. */
export interface FunnelBarStep {
  label: string;
  challenges: number;
  paid: number;
  refused: number;
}

const SERIES = [
  { key: "challenges", name: "402s served", colour: "#9aa7bd" },
  { key: "paid", name: "paid", colour: "#2f9e6e" },
  { key: "refused", name: "refused", colour: "#d0573b" },
] as const;

/** The funnel over time: per step, 402s served, payments made and refused, side by side. */
export function funnelChart(steps: FunnelBarStep[], id: string): string {
  const width = 720;
  const height = 180;
  const top = 22;
  const bottom = 24;
  const max = Math.max(1, ...steps.flatMap((s) => [s.challenges, s.paid, s.refused]));
  const step = width / Math.max(steps.length, 1);
  const bar = Math.max(1, (step - 4) / SERIES.length);
  const labelEvery = Math.ceil(steps.length / 8);
  const parts = steps.map((s, i) => {
    const bars = SERIES.map((series, j) => {
      const value = s[series.key];
      const h = Math.round(((height - top - bottom) * value) / max);
      const x = (i * step + 2 + j * bar).toFixed(1);
      return `<rect x="${x}" y="${height - bottom - h}" width="${bar.toFixed(1)}" height="${h}" fill="${series.colour}" data-step="${escape(s.label)}" data-series="${series.key}" data-value="${value}"><title>${escape(s.label)}: ${value} ${series.name}</title></rect>`;
    });
    const label =
      i % labelEvery === 0
        ? `<text x="${(i * step + 2).toFixed(1)}" y="${height - 6}" font-size="10" fill="#666">${escape(s.label)}</text>`
        : "";
    return bars.join("") + label;
  });
  const legend = SERIES.map(
    (series, j) =>
      `<rect x="${120 + j * 110}" y="3" width="10" height="10" fill="${series.colour}"/><text x="${134 + j * 110}" y="12" font-size="10" fill="#444">${series.name}</text>`,
  ).join("");
  return `<svg id="${escape(id)}" viewBox="0 0 ${width} ${height}" width="100%" role="img"
    aria-label="funnel over time" xmlns="http://www.w3.org/2000/svg">
    <line x1="0" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" stroke="#ccc"/>
    <text x="0" y="12" font-size="10" fill="#666">max ${max}</text>${legend}
    ${parts.join("\n")}</svg>`;
}

/** "Dc06KhOH…" for a long key thumbprint. */
function shortKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}…` : key;
}

function maxOf(bars: Bar[]): bigint {
  return bars.reduce((max, bar) => (bar.atomic > max ? bar.atomic : max), 1n);
}
