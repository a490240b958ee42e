import type { FunnelReport } from "../../funnel";
import type { StoredTable } from "../../kv";
import type { Bucket, PendingPayment, StoredReceipt } from "../../ledger";
import type { EntitlementView } from "../../sessions";
import type { OperatorDeps } from "../deps";
import { usdOf } from "../money";
import { routeNames } from "../route-names";

/**
 * Everything the dashboard shows, gathered in one place: revenue over the last `days` (totals,
 * per day, per route, per crawler), the latest receipts, the live sessions and the price table in
 * force. Dollar figures are exact sums of USDC atomic units; other tokens are listed, not charted.
 */

/** One bar of a chart: a label and a value in USDC atomic units (6 decimals). */
export interface Bar {
  label: string;
  /** What tells two bars of one label apart (a crawler's key), shown smaller. */
  detail?: string | undefined;
  atomic: bigint;
  count: number;
}

/** The dashboard's data. */
export interface DashboardData {
  now: number;
  days: number;
  /** Every total, one per network and asset. */
  totals: Bucket[];
  /** USDC revenue across networks, atomic units. */
  usdAtomic: bigint;
  receiptCount: number;
  byDay: Bar[];
  byRoute: Bar[];
  byCrawler: Bar[];
  /** Crawl credit sold (top-ups), USDC: its own line, not a route. */
  credit: Bar;
  /** The funnel over the same days, per day; undefined when it cannot be read. */
  funnel: FunnelReport | undefined;
  recent: StoredReceipt[];
  sessions: EntitlementView[];
  /** Payments whose settlement outcome is unknown, oldest first (src/ledger/pending.ts). */
  pending: PendingPayment[];
  table: StoredTable | undefined;
  /** Why a part could not be shown, one line each. */
  problems: string[];
}

const DAY_MS = 86_400_000;
/** How many payers' Durable Objects the dashboard asks for live sessions. */
const SESSION_PAYERS = 20;

/** Gathers the dashboard's data; a part that fails is reported in `problems`, not thrown. */
export async function dashboardData(deps: OperatorDeps, days = 30): Promise<DashboardData> {
  const now = Date.now();
  const data: DashboardData = {
    now,
    days,
    totals: [],
    usdAtomic: 0n,
    receiptCount: 0,
    byDay: [],
    byRoute: [],
    byCrawler: [],
    credit: { label: "crawl credit", atomic: 0n, count: 0 },
    funnel: undefined,
    recent: [],
    sessions: [],
    table: undefined,
    pending: [],
    problems: [],
  };
  const problem = (what: string) => (error: unknown) => {
    data.problems.push(`${what}: ${String(error)}`);
  };
  await deps.prices.current().then((table) => (data.table = table), problem("price table"));
  const live = await deps.tables?.current().catch(() => undefined);
  const ledger = deps.ledger;
  if (!ledger) {
    data.problems.push("receipts: the ledger is not configured (bind a D1 database as LEDGER)");
    return data;
  }
  await ledger.drain().catch(problem("parked receipts"));
  const start = startOfDay(now) - (days - 1) * DAY_MS;
  try {
    const [summary, recent] = await Promise.all([
      ledger.summary(start, now + 1),
      ledger.list({ limit: 25 }),
    ]);
    data.totals = summary.totals;
    data.receiptCount = summary.totals.reduce((n, b) => n + b.count, 0);
    data.usdAtomic = usdcBars(summary.totals).reduce((sum, bar) => sum + bar.atomic, 0n);
    data.byDay = fillDays(usdcBars(summary.byDay), start, days);
    data.byRoute = topBars(usdcBars(summary.byRoute), 12);
    data.byCrawler = topBars(usdcBars(summary.byCrawler), 12);
    const credit = usdcBars(summary.credit)[0];
    if (credit) data.credit = { ...credit, label: "crawl credit" };
    data.recent = recent;
  } catch (error) {
    problem("receipts")(error);
  }
  if (deps.funnel) {
    const range = { from: start, to: now + 1, stepMs: DAY_MS };
    const routeOf = routeNames(live?.ok ? live.table : undefined);
    data.funnel = await deps.funnel.report(ledger, range, routeOf).catch((error: unknown) => {
      problem("funnel")(error);
      return undefined;
    });
  }
  data.pending = await ledger.pending.list(50).catch((error: unknown) => {
    problem("pending payments")(error);
    return [];
  });
  const sessions = deps.sessions;
  if (sessions) {
    const payers = await ledger.sessionPayers(now - 366 * DAY_MS, SESSION_PAYERS).catch(() => []);
    const lists = await Promise.all(payers.map((payer) => sessions.list(payer).catch(() => [])));
    data.sessions = lists.flat().filter((e) => isLive(e, now));
  }
  return data;
}

/**
 * USDC buckets summed per key and detail (the same dollar on two networks counts once per
 * receipt).
 */
function usdcBars(buckets: Bucket[]): Bar[] {
  const bars = new Map<string, Bar>();
  for (const bucket of buckets) {
    if (usdOf(bucket.network, bucket.asset, bucket.amount) === null) continue;
    const id = JSON.stringify([bucket.key, bucket.detail ?? ""]);
    const bar = bars.get(id) ?? {
      label: bucket.key,
      ...(bucket.detail && { detail: bucket.detail }),
      atomic: 0n,
      count: 0,
    };
    bar.atomic += BigInt(bucket.amount);
    bar.count += bucket.count;
    bars.set(id, bar);
  }
  return [...bars.values()];
}

function fillDays(bars: Bar[], start: number, days: number): Bar[] {
  const byLabel = new Map(bars.map((bar) => [bar.label, bar]));
  return Array.from({ length: days }, (_, i) => {
    const label = new Date(start + i * DAY_MS).toISOString().slice(0, 10);
    return byLabel.get(label) ?? { label, atomic: 0n, count: 0 };
  });
}

function topBars(bars: Bar[], keep: number): Bar[] {
  const sorted = [...bars].sort((a, b) => (b.atomic > a.atomic ? 1 : b.atomic < a.atomic ? -1 : 0));
  if (sorted.length <= keep) return sorted;
  const rest = sorted.slice(keep - 1).reduce(
    (other, bar) => ({
      ...other,
      atomic: other.atomic + bar.atomic,
      count: other.count + bar.count,
    }),
    { label: "(other)", atomic: 0n, count: 0 },
  );
  return [...sorted.slice(0, keep - 1), rest];
}

function isLive(entitlement: EntitlementView, now: number): boolean {
  const timeLeft = entitlement.expiresAt === null || entitlement.expiresAt > now;
  const usesLeft = entitlement.remaining === null || entitlement.remaining > 0;
  return timeLeft && usesLeft;
}

function startOfDay(time: number): number {
  return time - (time % DAY_MS);
}
