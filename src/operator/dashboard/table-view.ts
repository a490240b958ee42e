import { durationText } from "../../browser";
import type { StoredTable } from "../../kv";
import { DEFAULT_RULE_ID, ruleIds } from "../../pricing";
import { escape, when } from "./html";

/**
 * The price table in force, as the operator wrote it: every rule with all its terms (sessions,
 * metered use, payees, dynamic and origin prices, crawler prices), the default rule, the
 * defaults, the crawler policies and credit, the payee maps, and the stored JSON itself. Terms
 * people read often are put in words; the rest are shown as written.
 */

type Json = Record<string, unknown>;

/** Renders the stored table, or says none is stored. */
export function priceTableView(table: StoredTable | undefined): string {
  if (!table) return `<p class="empty">no price table is stored</p>`;
  const { meta } = table;
  const head = `<p data-testid="price-revision">revision ${meta.revision}${meta.version ? ` · version ${escape(meta.version)}` : ""}${meta.savedAt ? ` · saved ${escape(when(meta.savedAt))}` : ""}${meta.note ? ` · ${escape(meta.note)}` : ""}</p>`;
  let parsed: Json = {};
  try {
    parsed = JSON.parse(table.raw) as Json;
  } catch {
    // a stored table is always JSON; show the header and the raw text if it somehow is not
  }
  const rules = Array.isArray(parsed["rules"]) ? (parsed["rules"] as Json[]) : [];
  const ids = ruleIds(rules.map(namedRule));
  const rows = rules.map((rule, i) => ruleRow(ids[i] ?? String(i), rule));
  const fallback = isObject(parsed["default"]) ? parsed["default"] : { free: true };
  rows.push(ruleRow(DEFAULT_RULE_ID, { path: "(no rule matches)", ...fallback }));
  return `${head}<table data-testid="price-rules"><thead><tr><th>rule</th><th>host</th><th>methods</th><th>path</th>
    <th>price</th><th>terms</th></tr></thead><tbody>${rows.join("")}</tbody></table>
    ${defaultsView(parsed["defaults"])}${crawlersView(parsed["crawlers"])}${payeesView(parsed["payees"])}
    <details class="raw"><summary>The table as stored (JSON)</summary><pre>${escape(pretty(table.raw))}</pre></details>`;
}

const SHOWN = new Set(["id", "host", "methods", "path", "free", "price"]);

/** The parts of a stored rule its name comes from (the table was checked when it was stored). */
function namedRule(rule: Json) {
  const text = (key: string) => (typeof rule[key] === "string" ? rule[key] : undefined);
  const methods = Array.isArray(rule["methods"]) ? rule["methods"].map(String) : undefined;
  return { id: text("id"), host: text("host"), methods, path: text("path") ?? "" };
}

function ruleRow(index: string, rule: Json): string {
  const terms = Object.entries(rule)
    .filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => `<div><b>${escape(key)}</b> ${termText(key, value)}</div>`);
  const methods = Array.isArray(rule["methods"]) ? rule["methods"].join(", ") : "all";
  return `<tr data-testid="rule" data-rule="${escape(index)}"><td>${escape(index)}</td>
    <td>${escape(typeof rule["host"] === "string" ? rule["host"] : "*")}</td><td>${escape(methods)}</td>
    <td><code>${escape(String(rule["path"] ?? ""))}</code></td><td>${priceText(rule)}</td>
    <td class="terms">${terms.join("")}</td></tr>`;
}

function priceText(rule: Json): string {
  if (rule["free"] === true) return "free";
  const price = rule["price"];
  if (typeof price === "string") return escape(price);
  if (isObject(price)) {
    return `${escape(String(price["amount"]))} units of <code>${escape(String(price["asset"]))}</code>`;
  }
  if (rule["dynamicPrice"]) return "dynamic";
  if (rule["originPrice"]) return "quoted by the origin";
  return "";
}

/** A term in words where it is common, else its JSON as written. */
function termText(key: string, value: unknown): string {
  if (key === "session" && isObject(value)) {
    const ttl = value["ttl"];
    const parts = [
      ttl === undefined ? "" : `for ${typeof ttl === "number" ? durationText(ttl) : String(ttl)}`,
      value["uses"] === undefined ? "" : `${String(value["uses"])} uses`,
      value["scope"] === undefined ? "" : `scope ${String(value["scope"])}`,
    ].filter(Boolean);
    return escape(`a pass ${parts.join(", ") || "without limit"}`);
  }
  if (key === "metered" && isObject(value)) {
    const usage = isObject(value["usage"]) ? value["usage"] : {};
    const from = usage["header"]
      ? `header ${String(usage["header"])}`
      : usage["sse"]
        ? `stream field ${String(usage["sse"])}`
        : "?";
    return escape(`${String(value["unitPrice"])} per unit, usage from ${from}`);
  }
  if (key === "payee" && isObject(value) && value["from"] === "origin") {
    return "named by the origin per request";
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return escape(String(value));
  }
  return `<code>${escape(JSON.stringify(value))}</code>`;
}

function defaultsView(defaults: unknown): string {
  if (!isObject(defaults) || Object.keys(defaults).length === 0) return "";
  const items = Object.entries(defaults).map(([k, v]) => `<b>${escape(k)}</b> ${termText(k, v)}`);
  return `<p class="terms" data-testid="price-defaults">Defaults: ${items.join(" · ")}</p>`;
}

function crawlersView(crawlers: unknown): string {
  if (!isObject(crawlers)) return "";
  const policies = isObject(crawlers["policies"]) ? crawlers["policies"] : {};
  const rows = Object.entries(policies).map(([id, policy]) => policyRow(id, policy));
  for (const group of ["signed", "unverified", "unknown"]) {
    if (crawlers[group] !== undefined) rows.push(policyRow(`(${group})`, crawlers[group]));
  }
  const rest = Object.entries(crawlers)
    .filter(([key]) => !["policies", "signed", "unverified", "unknown"].includes(key))
    .map(([key, value]) => `<div><b>${escape(key)}</b> ${termText(key, value)}</div>`);
  return `<h3>Crawlers</h3><table data-testid="price-crawlers"><thead><tr><th>crawler</th><th>action</th><th>price</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table><div class="terms">${rest.join("")}</div>`;
}

function policyRow(id: string, policy: unknown): string {
  const p = isObject(policy) ? policy : {};
  return `<tr data-testid="crawler-policy"><td>${escape(id)}</td><td>${escape(String(p["action"] ?? ""))}</td>
    <td>${escape(p["price"] === undefined ? "" : String(p["price"]))}</td></tr>`;
}

function payeesView(payees: unknown): string {
  if (!isObject(payees)) return "";
  const items = Object.entries(payees).map(
    ([k, v]) => `<div><b>${escape(k)}</b> <code>${escape(JSON.stringify(v))}</code></div>`,
  );
  return `<h3>Payees</h3><div class="terms">${items.join("")}</div>`;
}

function pretty(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
