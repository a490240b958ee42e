import type { PaidRow, PaidStep } from "../ledger";
import type { FunnelCountRow, FunnelStepRow } from "./d1-funnel";
import { REFUSAL_CODES } from "./outcome";
import type { RefusalCode } from "./outcome";

/**
 * The funnel as the operator reads it: per rule and crawler, 402s served, payments made (from
 * the receipts ledger), payments refused by reason, session uses, credit spent and revenue; and
 * the same per time step for charts. Pure: it joins rows the stores returned.
 */

/** An amount of one token on one network, atomic units as a decimal string. */
export interface Money {
  network: string;
  asset: string;
  amount: string;
}

/** The funnel of one rule and crawler (or of everything, in `totals`). */
export interface FunnelFigures {
  challenges: number;
  paid: number;
  refused: number;
  /** Refusals per reason code; codes with none are left out. */
  refusedBy: Partial<Record<RefusalCode, number>>;
  sessionUses: number;
  creditUses: number;
  creditSpent: Money[];
  revenue: Money[];
}

/** One line of the funnel: a rule, and the crawler it served ("" for people and other clients). */
export interface FunnelLine extends FunnelFigures {
  rule: string;
  /** What the rule matches, "/articles/:slug", when the live table still has it. */
  route: string | null;
  crawler: string | null;
  crawlerKey: string | null;
}

/** One time step of the funnel. */
export interface FunnelStep {
  /** Start of the step, ms since the epoch. */
  time: number;
  challenges: number;
  paid: number;
  refused: number;
  sessionUses: number;
  creditUses: number;
}

/** The whole report. */
export interface FunnelReport {
  lines: FunnelLine[];
  totals: FunnelFigures;
  steps: FunnelStep[];
}

/** Joins the counts and the ledger's payments into lines (most 402s first), totals and steps. */
export function funnelReport(
  input: {
    counts: readonly FunnelCountRow[];
    paid: readonly PaidRow[];
    countSteps: readonly FunnelStepRow[];
    paidSteps: readonly PaidStep[];
    from: number;
    to: number;
    stepMs: number;
  },
  routeOf: (rule: string) => string | null = () => null,
): FunnelReport {
  const lines = new Map<string, FunnelLine>();
  const totals = emptyFigures();
  const lineOf = (rule: string, crawler: string, crawlerKey: string) => {
    const id = JSON.stringify([rule, crawler, crawlerKey]);
    let line = lines.get(id);
    if (!line) {
      line = {
        rule,
        route: routeOf(rule),
        crawler: crawler || null,
        crawlerKey: crawlerKey || null,
        ...emptyFigures(),
      };
      lines.set(id, line);
    }
    return line;
  };
  for (const row of input.counts) {
    const count = Number(row.count);
    for (const figures of [lineOf(row.rule, row.crawler, row.crawler_key), totals]) {
      if (row.event === "challenge") figures.challenges += count;
      if (row.event === "session") figures.sessionUses += count;
      if (row.event === "refused") {
        figures.refused += count;
        const code = (REFUSAL_CODES as readonly string[]).includes(row.reason)
          ? (row.reason as RefusalCode)
          : "other";
        figures.refusedBy[code] = (figures.refusedBy[code] ?? 0) + count;
      }
      if (row.event === "credit") {
        figures.creditUses += count;
        addMoney(figures.creditSpent, row);
      }
    }
  }
  for (const row of input.paid) {
    for (const figures of [lineOf(row.rule, row.crawler, row.crawler_key), totals]) {
      figures.paid += Number(row.count);
      addMoney(figures.revenue, row);
    }
  }
  return {
    lines: [...lines.values()].sort(
      (a, b) => b.challenges - a.challenges || b.paid - a.paid || a.rule.localeCompare(b.rule),
    ),
    totals,
    steps: steps(input),
  };
}

function steps(input: {
  countSteps: readonly FunnelStepRow[];
  paidSteps: readonly PaidStep[];
  from: number;
  to: number;
  stepMs: number;
}): FunnelStep[] {
  const { stepMs } = input;
  const first = Math.floor(input.from / stepMs) * stepMs;
  const byTime = new Map<number, FunnelStep>();
  for (let time = first; time < input.to; time += stepMs) {
    byTime.set(time, {
      time,
      challenges: 0,
      paid: 0,
      refused: 0,
      sessionUses: 0,
      creditUses: 0,
    });
  }
  const at = (time: number) => byTime.get(Math.floor(Number(time) / stepMs) * stepMs);
  for (const row of input.countSteps) {
    const step = at(row.time);
    if (!step) continue;
    const count = Number(row.count);
    if (row.event === "challenge") step.challenges += count;
    if (row.event === "refused") step.refused += count;
    if (row.event === "session") step.sessionUses += count;
    if (row.event === "credit") step.creditUses += count;
  }
  for (const row of input.paidSteps) {
    const step = at(row.time);
    if (step) step.paid += Number(row.count);
  }
  return [...byTime.values()];
}

function emptyFigures(): FunnelFigures {
  return {
    challenges: 0,
    paid: 0,
    refused: 0,
    refusedBy: {},
    sessionUses: 0,
    creditUses: 0,
    creditSpent: [],
    revenue: [],
  };
}

function addMoney(list: Money[], row: Money): void {
  const held = list.find((m) => m.network === row.network && m.asset === row.asset);
  if (held) held.amount = (BigInt(held.amount) + BigInt(row.amount)).toString();
  else list.push({ network: row.network, asset: row.asset, amount: String(row.amount) });
}

const CSV_COLUMNS = [
  "rule",
  "route",
  "crawler",
  "crawlerKey",
  "challenges",
  "paid",
  "refused",
  ...REFUSAL_CODES.map((code) => `refused_${code}`),
  "sessionUses",
  "creditUses",
  "creditSpent",
  "revenue",
];

/**
 * The report's lines as CSV (RFC 4180, CRLF), one column per refusal code; money columns list
 * `amount asset@network` entries separated by `;` (amounts in atomic units).
 */
export function funnelCsv(report: FunnelReport): string {
  const money = (list: Money[]) => list.map((m) => `${m.amount} ${m.asset}@${m.network}`).join(";");
  const lines = [CSV_COLUMNS.join(",")];
  for (const line of report.lines) {
    const values: Array<string | number | null> = [
      line.rule,
      line.route,
      line.crawler,
      line.crawlerKey,
      line.challenges,
      line.paid,
      line.refused,
      ...REFUSAL_CODES.map((code) => line.refusedBy[code] ?? 0),
      line.sessionUses,
      line.creditUses,
      money(line.creditSpent),
      money(line.revenue),
    ];
    lines.push(values.map(field).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

function field(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  // A leading =, +, - or @ would be read as a formula by spreadsheets: quote it with a '.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
