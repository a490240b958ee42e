/**
 * What pushing a table would change, rule by rule: rules are matched by their stable names
 * (src/pricing/rule-id.ts: an explicit `id`, else methods, host and path), the names receipts
 * and the funnel record, so a changed price shows as one changed rule, not as a removal and an
 * addition. The order of rules matters (the first match wins), so a reordering is reported too.
 */
import { ruleIds } from "../../src/pricing/rule-id.ts";
import type { NamedRule } from "../../src/pricing/rule-id.ts";

type Json = Record<string, unknown>;

/** Lines describing how `next` differs from `live`; empty when they mean the same. */
export function diffTables(live: unknown, next: unknown): string[] {
  const a = (live ?? {}) as Json;
  const b = (next ?? {}) as Json;
  const lines: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of [...keys].filter((k) => k !== "rules").sort()) {
    if (!same(a[key], b[key])) lines.push(`~ ${key}: ${show(a[key])} → ${show(b[key])}`);
  }
  const before = rulesOf(a);
  const after = rulesOf(b);
  const beforeNames = ruleIds(before.map(named));
  const afterNames = ruleIds(after.map(named));
  const beforeIds = new Map(beforeNames.map((name, i) => [name, i]));
  const afterIds = new Map(afterNames.map((name, i) => [name, i]));
  before.forEach((rule, i) => {
    const name = beforeNames[i]!;
    if (!afterIds.has(name)) lines.push(`- ${name}: ${label(rule)}`);
  });
  after.forEach((rule, i) => {
    const name = afterNames[i]!;
    const was = beforeIds.get(name);
    if (was === undefined) {
      lines.push(`+ ${name}: ${label(rule)}`);
      return;
    }
    const old = before[was]!;
    for (const field of new Set([...Object.keys(old), ...Object.keys(rule)])) {
      if (!same(old[field], rule[field])) {
        lines.push(`~ ${name}: ${field} ${show(old[field])} → ${show(rule[field])}`);
      }
    }
  });
  const common = afterNames.filter((id) => beforeIds.has(id));
  const oldOrder = beforeNames.filter((id) => afterIds.has(id));
  if (!same(common, oldOrder))
    lines.push("↕ the order of existing rules changed (first match wins)");
  return lines;
}

function rulesOf(table: Json): Json[] {
  return Array.isArray(table["rules"]) ? (table["rules"] as Json[]) : [];
}

/** The parts of a rule as written that its name comes from. */
function named(rule: Json): NamedRule {
  const text = (key: string) => (typeof rule[key] === "string" ? rule[key] : undefined);
  const methods = Array.isArray(rule["methods"]) ? rule["methods"].map(String) : undefined;
  return { id: text("id"), host: text("host"), methods, path: text("path") ?? "" };
}

function label(rule: Json): string {
  const price = rule["free"] === true ? "free" : show(rule["price"]);
  return `${price}${rule["session"] ? ` session ${show(rule["session"])}` : ""}`;
}

function show(value: unknown): string {
  return value === undefined ? "(none)" : JSON.stringify(value);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Json)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}
