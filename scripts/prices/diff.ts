/**
 * What pushing a table would change, rule by rule: rules are matched by host, methods and path
 * (their identity), so a changed price shows as one changed rule, not as a removal and an
 * addition. The order of rules matters (the first match wins), so a reordering is reported too.
 */

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
  const beforeIds = new Map(before.map((rule, i) => [identity(rule), i]));
  const afterIds = new Map(after.map((rule, i) => [identity(rule), i]));
  before.forEach((rule, i) => {
    if (!afterIds.has(identity(rule))) lines.push(`- rules[${i}] ${label(rule)}`);
  });
  after.forEach((rule, i) => {
    const was = beforeIds.get(identity(rule));
    if (was === undefined) {
      lines.push(`+ rules[${i}] ${label(rule)}`);
      return;
    }
    const old = before[was]!;
    for (const field of new Set([...Object.keys(old), ...Object.keys(rule)])) {
      if (!same(old[field], rule[field])) {
        lines.push(
          `~ rules[${i}] ${identity(rule)}: ${field} ${show(old[field])} → ${show(rule[field])}`,
        );
      }
    }
  });
  const common = after.map(identity).filter((id) => beforeIds.has(id));
  const oldOrder = before.map(identity).filter((id) => afterIds.has(id));
  if (!same(common, oldOrder))
    lines.push("↕ the order of existing rules changed (first match wins)");
  return lines;
}

function rulesOf(table: Json): Json[] {
  return Array.isArray(table["rules"]) ? (table["rules"] as Json[]) : [];
}

function identity(rule: Json): string {
  const methods = Array.isArray(rule["methods"]) ? (rule["methods"] as string[]).join(",") : "*";
  return `${String(rule["host"] ?? "*")} ${methods} ${String(rule["path"])}`;
}

function label(rule: Json): string {
  const price = rule["free"] === true ? "free" : show(rule["price"]);
  return `${identity(rule)}: ${price}${rule["session"] ? ` session ${show(rule["session"])}` : ""}`;
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
