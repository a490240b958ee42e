import { STATIC_ASSETS } from "../../assets";
import type { Money } from "../../funnel";
import { embedJson } from "../../browser";
import { ruleIds } from "../../pricing";
import { usdOf } from "../money";
import type { DashboardData } from "./data";

/**
 * The dashboard page: the figures as JSON in the document and one script that draws them
 * (static/dashboard.js: totals, SVG charts, the funnel, tables, the price table), with its
 * stylesheet (static/dashboard.css); both are served by the Worker under `/__x402/assets/`
 * (src/assets), so the page needs no other origin and its Content-Security-Policy allows those two
 * files only. The Worker renders no figure itself: what it sends is what the script shows.
 */

/** The page's stylesheet and script (pinned by its SRI hash), at content-hashed paths. */
export const DASHBOARD_STYLE = STATIC_ASSETS["dashboard.css"];
const SCRIPT = STATIC_ASSETS["dashboard.js"];

/** What a browser that runs no script (or failed to load it) shows instead of the figures. */
const NO_SCRIPT =
  "The figures are drawn by a script that did not run: allow JavaScript, or read them from the " +
  "admin API (/__x402/admin/revenue, funnel, receipts).";

/**
 * The dashboard's HTML for `data`; `nonce` is this response's CSP nonce. The data block is
 * `embedJson` (no `<` can end it), every amount carries its dollars as `usd` (null for a token
 * other than the network's USDC, as in the admin API), and the stored table its rules' stable
 * names (`ruleIds`).
 */
export function dashboardPage(data: DashboardData, nonce: string): string {
  const table = data.table && { ...data.table, ruleIds: storedRuleIds(data.table.raw) };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>x402 paywall dashboard</title>
<link rel="stylesheet" href="${DASHBOARD_STYLE.path}"></head><body>
<header><h1>x402 paywall</h1><span id="dashboard-now"></span>
<form method="post" action="/__x402/dashboard/logout"><button>Sign out</button></form></header>
<main id="dashboard"><section class="problems" data-testid="no-script">${NO_SCRIPT}</section></main>
<script type="application/json" id="dashboard-data">${embedJson({ ...data, table }, toJson)}</script>
<script src="${SCRIPT.path}" integrity="${SCRIPT.integrity}" nonce="${nonce}"></script>
</body></html>`;
}

/** `JSON.stringify`'s replacer: an amount (network, asset, atomic amount) with its dollars. */
function toJson(_key: string, value: unknown): unknown {
  const m = value as Partial<Money> | null;
  return typeof m?.amount === "string" && typeof m.asset === "string" && m.network
    ? { ...m, usd: usdOf(m.network, m.asset, m.amount) }
    : value;
}

/**
 * The stable names of a stored table's rules, in order (src/pricing/rule-id.ts); none when its
 * text is not a table (it was checked when it was stored).
 */
function storedRuleIds(raw: string): string[] {
  try {
    return ruleIds((JSON.parse(raw) as { rules: Parameters<typeof ruleIds>[0] }).rules);
  } catch {
    return [];
  }
}
