import { amountLabel } from "../money";
import type { FunnelFigures, FunnelLine, Money } from "../../funnel";
import type { FunnelBarStep } from "./charts";
import type { DashboardData } from "./data";
import { escape } from "./html";

/**
 * The funnel section of the dashboard: what 402s turned into, in figures, over time and per
 * route and crawler, with refusals by reason. Crawlers show by name with their key as a detail.
 */

/** Renders the funnel section; `chart` draws the steps (charts.ts `funnelChart`). */
export function funnelSection(
  data: DashboardData,
  chart: (steps: FunnelBarStep[], id: string) => string,
): string {
  const report = data.funnel;
  if (!report) return "";
  const { totals } = report;
  const rate =
    totals.challenges > 0 ? Math.round((totals.paid / totals.challenges) * 1000) / 10 : 0;
  const figures = `<div class="figures">
<div class="figure"><b data-testid="funnel-challenges">${totals.challenges}</b>402s served</div>
<div class="figure"><b data-testid="funnel-paid">${totals.paid}</b>paid (${rate}% of 402s)</div>
<div class="figure"><b data-testid="funnel-refused">${totals.refused}</b>refused</div>
<div class="figure"><b data-testid="funnel-sessions">${totals.sessionUses}</b>session uses</div>
<div class="figure"><b data-testid="funnel-credit">${totals.creditUses}</b>pages on credit</div></div>`;
  const steps = report.steps.map((s) => ({
    label: new Date(s.time).toISOString().slice(5, 10),
    challenges: s.challenges,
    paid: s.paid,
    refused: s.refused,
  }));
  return `<section><h2>Funnel, last ${data.days} days</h2>${figures}${reasons(totals)}
${chart(steps, "chart-funnel")}${linesTable(report.lines)}</section>`;
}

function linesTable(lines: FunnelLine[]): string {
  if (lines.length === 0) return `<p class="empty">no 402 served yet</p>`;
  const rows = lines.slice(0, 50).map(
    (
      l,
    ) => `<tr data-testid="funnel-line" data-rule="${escape(l.rule)}" data-crawler="${escape(l.crawler)}">
      <td>${escape(l.route ?? l.rule)}${l.route ? ` <small>${escape(l.rule)}</small>` : ""}</td>
      <td>${l.crawler ? `${escape(l.crawler)}${l.crawlerKey ? `<br><small title="${escape(l.crawlerKey)}">key ${escape(l.crawlerKey.slice(0, 8))}…</small>` : ""}` : "people and programs"}</td>
      <td data-figure="challenges">${l.challenges}</td><td data-figure="paid">${l.paid}</td>
      <td data-figure="refused">${l.refused}${reasons(l)}</td><td>${l.sessionUses}</td>
      <td>${l.creditUses}${l.creditSpent.length ? `<br><small>${money(l.creditSpent)}</small>` : ""}</td>
      <td>${money(l.revenue)}</td></tr>`,
  );
  return `<table><thead><tr><th>route</th><th>crawler</th><th>402s</th><th>paid</th><th>refused</th>
    <th>session uses</th><th>pages on credit</th><th>revenue</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function reasons(figures: FunnelFigures): string {
  const entries = Object.entries(figures.refusedBy);
  if (entries.length === 0) return "";
  const text = entries
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code.replace(/_/g, " ")} ${n}`)
    .join(", ");
  return `<div class="reasons" data-testid="refusal-reasons">refused: ${escape(text)}</div>`;
}

function money(list: Money[]): string {
  return escape(list.map((m) => amountLabel(m.network, m.asset, m.amount)).join(" + "));
}
