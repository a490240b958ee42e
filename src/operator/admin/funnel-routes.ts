import { Hono } from "hono/tiny";
import { funnelCsv } from "../../funnel";
import type { FunnelReport, Money } from "../../funnel";
import type { OperatorEnv } from "../deps";
import { usdOf } from "../money";
import { routeNames } from "../route-names";
import { adminError, needLedger } from "./answers";
import { timeRange } from "./queries";

/**
 * `GET /__x402/admin/funnel`: per rule and crawler, 402s served, payments made, payments refused
 * by reason, session uses, credit spent and revenue, over `from`/`to` (or the last `days`), with
 * the same figures per `step` (minute, hour or day) for charts; `format=csv` gives the lines as
 * CSV. This isolate's counts are written first; other isolates' follow within
 * `FUNNEL_FLUSH_SECONDS`.
 */

const STEPS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** At most this many steps in one answer. */
const MAX_STEPS = 2000;

/** The funnel routes, mounted under `/__x402/admin`. */
export function funnelRoutes(): Hono<OperatorEnv> {
  const routes = new Hono<OperatorEnv>();

  routes.get("/funnel", async (c) => {
    const needed = needLedger(c);
    if (needed.type === "respond") return needed.response;
    const ledger = needed.part;
    const funnel = c.var.deps.funnel;
    if (!funnel) return adminError(c, 503, "ledger_unavailable", "the funnel is not configured");
    const parsed = timeRange(c);
    if (!parsed.ok) return adminError(c, 400, "bad_request", parsed.reason);
    const range = parsed.value;
    const stepName =
      c.req.query("step") ?? (range.to - range.from > 2 * 86_400_000 ? "day" : "hour");
    const stepMs = STEPS[stepName];
    if (stepMs === undefined)
      return adminError(c, 400, "bad_request", 'step is "minute", "hour" or "day"');
    if ((range.to - range.from) / stepMs > MAX_STEPS) {
      return adminError(c, 400, "bad_request", `at most ${MAX_STEPS} steps: choose a longer step`);
    }
    const format = c.req.query("format") ?? "json";
    if (format !== "json" && format !== "csv") {
      return adminError(c, 400, "bad_request", 'format is "json" or "csv"');
    }
    const state = await c.var.deps.tables?.current();
    const routeOf = routeNames(state?.ok ? state.table : undefined);
    const report = await funnel.report(ledger, { ...range, stepMs }, routeOf);
    if (format === "csv") {
      return c.body(funnelCsv(report), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="funnel.csv"',
      });
    }
    return c.json({
      from: new Date(range.from).toISOString(),
      to: new Date(range.to).toISOString(),
      step: stepName,
      ...withUsd(report),
    });
  });

  return routes;
}

function withUsd(report: FunnelReport & { unflushed: number }) {
  const usd = (list: Money[]) =>
    list.map((m) => ({ ...m, usd: usdOf(m.network, m.asset, m.amount) }));
  const figures = <T extends { creditSpent: Money[]; revenue: Money[] }>(f: T) => ({
    ...f,
    creditSpent: usd(f.creditSpent),
    revenue: usd(f.revenue),
  });
  return {
    lines: report.lines.map(figures),
    totals: figures(report.totals),
    steps: report.steps.map((s) => ({ ...s, time: new Date(s.time).toISOString() })),
    unflushed: report.unflushed,
  };
}
