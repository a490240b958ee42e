/**
 * What the price-table CLI says about a table it checked: its version and what it holds (rules
 * priced and free, the default, crawler policies and credit), so a "valid" names the table it
 * speaks of; and how a refusal ends, per command (only `push` could have pushed anything).
 */

/** The parts of a checked table the summary reads (src/pricing/schema.ts, after defaults). */
export interface CheckedTable {
  version?: string | number | undefined;
  rules: ReadonlyArray<Record<string, unknown>>;
  default?: Record<string, unknown> | undefined;
  crawlers?: { policies?: Record<string, unknown>; credit?: unknown } | undefined;
}

/** True when a rule asks people to pay (a price of some kind, not `free`). */
function priced(rule: Record<string, unknown>): boolean {
  if (rule["free"] === true) return false;
  return ["price", "dynamicPrice", "originPrice"].some((key) => rule[key] !== undefined);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `version "2026-11-21": 3 rules (2 priced, 1 free), default free, 2 crawler policies`. */
export function describeTable(table: CheckedTable): string {
  const version =
    table.version === undefined ? "no version" : `version ${JSON.stringify(table.version)}`;
  const paid = table.rules.filter(priced).length;
  const parts = [
    `${plural(table.rules.length, "rule")} (${paid} priced, ${table.rules.length - paid} free)`,
    `default ${table.default && priced(table.default) ? "priced" : "free"}`,
  ];
  if (table.crawlers) {
    const policies = Object.keys(table.crawlers.policies ?? {}).length;
    parts.push(plural(policies, "crawler policy", "crawler policies"));
    parts.push(table.crawlers.credit ? "crawl credit sold" : "no crawl credit");
  }
  return `${version}: ${parts.join(", ")}`;
}

/** The CLI commands that check a file first. */
export type CheckingCommand = "validate" | "diff" | "push";

/** The last line of a refused file: how many problems, and what was not done. */
export function refusalLine(file: string, problems: number, command: CheckingCommand): string {
  const outcome = {
    validate: "the table is not valid",
    diff: "not compared with the live table",
    push: "nothing was pushed",
  }[command];
  return `${file}: ${plural(problems, "problem")}; ${outcome}`;
}
