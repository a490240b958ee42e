import { STATIC_ASSETS } from "../../assets";
import { amountLabel, transactionUrl } from "../money";
import { barChart, dayChart, funnelChart } from "./charts";
import { funnelSection } from "./funnel-view";
import { priceTableView } from "./table-view";
import type { DashboardData } from "./data";
import { dollars, escape, shortHex, when } from "./html";

/**
 * The dashboard page: one HTML document (inline SVG, no script) and its stylesheet
 * (static/dashboard.css, served by the Worker under `/__x402/assets/`, src/assets), so it needs
 * no other origin and its Content-Security-Policy forbids every fetch but that one file.
 * Figures carry `data-testid` attributes so tests and scripts can read them.
 */

/** The page's stylesheet: a static file at a content-hashed path. */
export const DASHBOARD_STYLE = STATIC_ASSETS["dashboard.css"];

/** Renders the dashboard's HTML. */
export function dashboardPage(data: DashboardData): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>x402 paywall dashboard</title>
<link rel="stylesheet" href="${DASHBOARD_STYLE.path}"></head><body>
<header><h1>x402 paywall</h1><span>${escape(when(data.now))}</span>
<form method="post" action="/__x402/dashboard/logout"><button>Sign out</button></form></header>
<main>
${data.problems.length ? `<section class="problems" data-testid="problems">${data.problems.map((p) => `<div>${escape(p)}</div>`).join("")}</section>` : ""}
<section><h2>Revenue, last ${data.days} days</h2><div class="figures">
<div class="figure"><b data-testid="revenue-usd">${escape(dollars(data.usdAtomic))}</b>USDC earned</div>
<div class="figure"><b data-testid="receipt-count">${data.receiptCount}</b>payments</div>
<div class="figure"><b data-testid="session-count">${data.sessions.length}</b>live sessions</div>
</div>${totalsList(data)}</section>
<section><h2>Revenue per day (USDC)</h2>${dayChart(data.byDay, "chart-day")}</section>
${funnelSection(data, funnelChart)}
<section><h2>Revenue per route</h2>${barChart(data.byRoute, "chart-route", "data-route", "no payments yet")}
${creditLine(data)}</section>
<section><h2>Revenue per crawler</h2>${barChart(data.byCrawler, "chart-crawler", "data-crawler", "no crawler has paid yet")}</section>
<section><h2>Pending payments</h2>${pendingTable(data)}</section>
<section><h2>Recent receipts</h2>${receiptsTable(data)}</section>
<section><h2>Live sessions</h2>${sessionsTable(data)}</section>
<section><h2>Price table</h2>${priceTableView(data.table)}</section>
</main></body></html>`;
}

function totalsList(data: DashboardData): string {
  if (data.totals.length <= 1) return "";
  const items = data.totals.map(
    (t) =>
      `<li>${escape(amountLabel(t.network, t.asset, t.amount))} on ${escape(t.network)} (${t.count})</li>`,
  );
  return `<ul>${items.join("")}</ul>`;
}

function receiptsTable(data: DashboardData): string {
  if (data.recent.length === 0) return `<p class="empty">no receipts yet</p>`;
  const rows = data.recent.map((r) => {
    const url = r.transaction ? transactionUrl(r.network, r.transaction) : undefined;
    const tx = r.transaction
      ? url
        ? `<a href="${escape(url)}" rel="noreferrer">${escape(shortHex(r.transaction))}</a>`
        : `<code title="${escape(r.transaction)}">${escape(shortHex(r.transaction))}</code>`
      : "";
    return `<tr data-testid="receipt" data-tx="${escape(r.transaction)}">
      <td>${escape(when(r.time))}</td><td>${escape(r.host)}<code>${escape(r.path)}</code></td>
      <td><code title="${escape(r.payer)}">${escape(shortHex(r.payer))}</code></td>
      <td>${escape(amountLabel(r.network, r.asset, r.amount))}</td><td>${escape(r.crawler ?? "")}${r.crawlerKey ? `<br><small title="${escape(r.crawlerKey)}">key ${escape(r.crawlerKey.slice(0, 8))}…</small>` : ""}</td>
      <td>${escape(r.session ?? "")}</td><td>${tx}</td></tr>`;
  });
  return `<table><thead><tr><th>time</th><th>resource</th><th>payer</th><th>amount</th>
    <th>crawler</th><th>session</th><th>transaction</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Payments whose settlement outcome is unknown: resolve them with the admin API's check. */
function pendingTable(data: DashboardData): string {
  if (data.pending.length === 0) return `<p class="empty">no pending payments</p>`;
  const rows = data.pending.map(
    (p) => `<tr data-testid="pending" data-key="${escape(p.key)}">
      <td>${escape(ageLabel(data.now - p.since))}</td><td>${escape(p.resource)}</td>
      <td><code title="${escape(p.payer)}">${escape(shortHex(p.payer))}</code></td>
      <td>${escape(amountLabel(p.network, p.asset, p.amount))}</td>
      <td>${p.checkedAt === null ? "never" : escape(when(p.checkedAt))}</td>
      <td>${escape(p.outcome ?? "")}</td></tr>`,
  );
  return `<p>Check one against the chain: <code>POST /__x402/admin/payments/pending/&lt;payer&gt;/&lt;key&gt;/check</code>
    or <code>npm run prices -- pending --check</code>.</p><table><thead><tr><th>age</th><th>resource</th>
    <th>payer</th><th>amount</th><th>last check</th><th>outcome</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function ageLabel(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

function sessionsTable(data: DashboardData): string {
  if (data.sessions.length === 0) return `<p class="empty">no live sessions</p>`;
  const rows = data.sessions.map(
    (
      s,
    ) => `<tr data-testid="session"><td><code title="${escape(s.payer)}">${escape(shortHex(s.payer))}</code></td>
      <td>${escape(s.scope)}</td><td>${escape(amountLabel(s.network, s.asset, s.amount))}</td>
      <td>${s.expiresAt === null ? "no time limit" : escape(when(s.expiresAt))}</td>
      <td>${s.remaining === null ? "unlimited" : s.remaining}</td><td>${s.tokens}</td></tr>`,
  );
  return `<table><thead><tr><th>payer</th><th>scope</th><th>paid</th><th>expires</th>
    <th>uses left</th><th>tokens</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Crawl credit sold: money from crawlers, but not a route; pages it paid for are in the funnel. */
function creditLine(data: DashboardData): string {
  const { credit } = data;
  return `<p class="credit" data-testid="credit-sold" data-usd="${escape(dollars(credit.atomic))}" data-count="${credit.count}">Crawl credit sold (<code>/__x402/crawl-credit</code>): <b>${escape(dollars(credit.atomic))}</b> in ${credit.count} top-up${credit.count === 1 ? "" : "s"}</p>`;
}
