import type { FunnelReport } from "../../funnel";
import type { StoredTable } from "../../kv";
import type { PendingPayment, RevenueSummary, StoredReceipt } from "../../ledger";
import type { EntitlementView } from "../../sessions";
import type { OperatorDeps } from "../deps";
import { routeNames } from "../route-names";

/**
 * Everything the dashboard shows, gathered in one place: the ledger's revenue summary over the
 * last `days` (totals, per day, per route, per crawler, crawl credit: what
 * `GET /__x402/admin/revenue` reads), the funnel over the same days, the latest receipts, pending
 * payments, the live sessions and the price table in force. The page's script
 * (static/dashboard.js) sums and charts the USDC figures; other tokens are listed, not charted.
 */

/** The dashboard's data. */
export interface DashboardData {
  now: number;
  days: number;
  /** Start of the first day shown (UTC midnight), ms since the epoch. */
  from: number;
  /** Revenue from `from` to now; undefined when it cannot be read. */
  revenue: RevenueSummary | undefined;
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
  const start = now - (now % DAY_MS) - (days - 1) * DAY_MS;
  const data: DashboardData = {
    now,
    days,
    from: start,
    revenue: undefined,
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
  try {
    [data.revenue, data.recent] = await Promise.all([
      ledger.summary(start, now + 1),
      ledger.list({ limit: 25 }),
    ]);
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

function isLive(entitlement: EntitlementView, now: number): boolean {
  const timeLeft = entitlement.expiresAt === null || entitlement.expiresAt > now;
  const usesLeft = entitlement.remaining === null || entitlement.remaining > 0;
  return timeLeft && usesLeft;
}
