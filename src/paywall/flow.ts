import type { SettleResponse } from "@x402/core/types";
import type { RecentKeys } from "./recent-keys";
import type { ChainProver } from "../chain";
import type { TableState } from "../kv";
import type { Facilitator } from "../payments";
import { canonicalUrl, normalisePath } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { crawlerGate } from "./crawler-gate";
import type { CrawlerDeps, CrawlerTag } from "./crawler-gate";
import { ruleKey } from "../funnel";
import type { FunnelRecorder } from "../funnel";
import { forwardPreflight, isPreflight } from "./preflight";
import type { PaymentLockService } from "../idempotency";
import type { ReceiptsLedger } from "../ledger";
import { challenge } from "./challenge";
import { decide } from "./decide";
import type { Decision } from "./decide";
import { payOnce } from "./pay-once";
import { ledgerReceipt, recordSettlement, withGrant } from "./record-settlement";
import { errorResponse } from "./responses";
import { serveSession } from "./serve-session";
import type { SessionDeps } from "./session-gate";

/**
 * The request path, top to bottom, each step a module returning a tagged result this file acts
 * on: normalise → CORS preflights (free, preflight.ts) → match → identify (crawlers,
 * crawler-gate.ts) → decide (decide.ts: free | respond | session | pay) → serve a session
 * (serve-session.ts) or pay once (pay-once.ts → attempt.ts → settle-once.ts: paid | refused |
 * respond | …) → record the settlement (record-settlement.ts) → respond.
 *
 * Money rules it keeps: nothing reaches the origin on a priced route without a verified
 * payment; settlement happens only after the origin answered below 400 and before any of its
 * body is sent, so an origin error costs nothing and a failed settlement delivers nothing; a
 * facilitator that cannot be reached is a 502/503, never a free pass. On session routes a valid
 * session token or SIWx proof replaces the payment; a use it spends on a request the origin
 * fails to answer is given back.
 */

/** Everything the flow needs, injected so tests can swap each part. */
export interface PaywallDeps {
  tables: { current(): Promise<TableState> };
  facilitator: Facilitator;
  origin: OriginOptions;
  /** Absent when `SESSIONS` or `SESSION_SECRET` is not configured. */
  sessions?: SessionDeps | undefined;
  /** The at-most-once lock on payments (`PAYMENTS`); absent without the binding. */
  payments?: PaymentLockService | undefined;
  /** Payments this isolate claimed lately (src/paywall/pay-once.ts). */
  claimedLately?: RecentKeys | undefined;
  /** Web Bot Auth verification and prepaid crawl credit (pay-per-crawl). */
  crawlers?: CrawlerDeps | undefined;
  /** The receipts ledger (`LEDGER`, D1); absent without the binding. */
  ledger?: ReceiptsLedger | undefined;
  /**
   * The key signing origin-quoted terms in 402s (`SESSION_SECRET`); absent: every paid request
   * on such a rule is checked against a fresh quote instead (src/paywall/origin-quote.ts).
   */
  quoteSecret?: string | undefined;
  /** Reads the chain to resolve pending payments (`CHAIN_RPC_URLS`, src/chain). */
  chain?: ChainProver | undefined;
  /** Counts each answer on a priced route for the operator's funnel (src/funnel); no I/O. */
  funnel?: FunnelRecorder | undefined;
}

/** Paths under this prefix belong to the paywall itself and are never proxied. */
export const RESERVED_PREFIX = "/__x402";

/** What the Worker knows of one request besides the request itself. */
export interface RequestContext {
  /** The request's URL, when already parsed. */
  url?: URL | undefined;
  /**
   * Keeps work going after the answer is sent (`ExecutionContext.waitUntil`); without it that
   * work is awaited before answering.
   */
  waitUntil?: ((work: Promise<unknown>) => void) | undefined;
}

/** Handles one request in front of the origin. */
export async function handleRequest(
  request: Request,
  deps: PaywallDeps,
  context: RequestContext = {},
): Promise<Response> {
  // One spelling of the host (no trailing dot) for matching, scopes, resource URLs and sign-in.
  const url = canonicalUrl(context.url ?? new URL(request.url));
  const path = normalisePath(url.pathname);
  if (!path.ok) return errorResponse("bad_path", path.reason);
  if (isReserved(path.matchPath)) {
    return errorResponse("reserved_path", `${RESERVED_PREFIX}/ is reserved for the paywall`);
  }
  // Before any rule is read: a preflight is never priced, on any rule (preflight.ts).
  if (isPreflight(request)) return forwardPreflight(request, path.forwardPath, deps.origin);

  const state = await deps.tables.current();
  if (!state.ok) return errorResponse("price_table_unavailable", state.reason);
  const match = state.table.match({
    method: request.method,
    host: url.hostname,
    path: path.matchPath,
  });
  if (match.kind === "unknown-payee") return errorResponse("unknown_payee", match.reason);

  const resourceUrl = `${url.origin}${path.forwardPath}${url.search}`;
  const forwardPath = path.forwardPath;
  // Only a rule with a crawl price under the table's crawler terms can act on a crawler: on any
  // other, no request is identified (no User-Agent search, no signature check, no key lookup).
  const crawlers = state.table.crawlers && match.crawl ? deps.crawlers : undefined;
  const crawl = crawlers
    ? await crawlerGate(
        { request, match, terms: state.table.crawlers, forwardPath, resourceUrl },
        { crawlers, origin: deps.origin, defer: context.waitUntil },
      )
    : { type: "pass" as const };
  // The operator's funnel: one count per answer on a priced route, written after the answer.
  const counted = (response: Response, crawler?: CrawlerTag) => {
    const key = {
      rule: ruleKey(match),
      crawler: crawler?.name ?? "",
      crawlerKey: crawler?.key ?? "",
    };
    deps.funnel?.record(key, request, response, context.waitUntil);
    return response;
  };
  if (crawl.type === "respond") return counted(crawl.response, crawl.crawler);
  const crawler = crawl.type === "charge" ? crawl.crawler : undefined;
  const decision: Decision =
    crawl.type === "free"
      ? { type: "free" }
      : await decide(
          {
            request,
            url,
            forwardPath,
            matchPath: path.matchPath,
            resourceUrl,
            match: crawl.type === "charge" ? crawl.match : match,
            crawler,
            defer: context.waitUntil,
          },
          deps,
        );
  if (decision.type === "free") {
    const result = await forwardToOrigin({ request, forwardPath }, deps.origin);
    if (result.type === "unreachable") return errorResponse("origin_unreachable", result.reason);
    return result.response;
  }
  const asked = { request, forwardPath };
  const response = await priced(decision, asked, { ...deps, defer: context.waitUntil });
  return counted(crawl.type === "charge" ? crawl.decorate(response) : response, crawler);
}

/** The answer to a priced request once decided: served under a session, or paid once. */
async function priced(
  decision: Exclude<Decision, { type: "free" }>,
  asked: { request: Request; forwardPath: string },
  deps: PaywallDeps & { defer: RequestContext["waitUntil"] },
): Promise<Response> {
  switch (decision.type) {
    case "respond":
      return decision.response;
    case "session":
      return serveSession(asked, decision.admitted, decision.scope, deps);
    case "pay":
      break;
  }
  const { paid, terms, facts } = decision;
  // With a ledger, the receipt goes to the payer's lock with the outcome (settle-once.ts).
  const receiptFor = deps.ledger
    ? (receipt: SettleResponse, payer: string | undefined) => ledgerReceipt(facts, receipt, payer)
    : undefined;
  const result = await payOnce({ ...paid, receiptFor }, deps);
  switch (result.type) {
    case "respond":
      return result.response;
    case "refused":
      return challenge(terms, {
        error: result.reason,
        headers: result.headers,
        terms: result.terms,
      });
    case "paid": {
      const granted = await recordSettlement(facts, result.settled, deps);
      return withGrant(result.response, granted, facts.pass?.scope);
    }
    case "settled-copy":
      if (result.settled) await recordSettlement(facts, result.settled, deps);
      return result.response;
    case "settled-before":
      // Recorded when it settled; a copy never grants what the payment bought again.
      return result.response;
    case "stream":
      return result.open(async (settled) => {
        await recordSettlement(facts, settled, deps);
      });
  }
}

function isReserved(matchPath: string): boolean {
  const lower = matchPath.toLowerCase();
  return lower === RESERVED_PREFIX || lower.startsWith(`${RESERVED_PREFIX}/`);
}
