import type { SettleResponse } from "@x402/core/types";
import { receiptOf, recordReceipt } from "../ledger";
import type { Receipt, ReceiptsLedger } from "../ledger";
import type { PreparedPayment } from "../payments";
import type { Offer } from "../pricing";
import type { SessionResult } from "../sessions";
import type { CrawlerTag } from "./crawler-gate";
import type { Settled } from "./paid-request";
import { sessionResponse } from "./responses";
import type { SessionDeps } from "./session-gate";

/**
 * The record step of a settled payment: its receipt in the ledger (handed to the payer's lock
 * with the outcome when there is one, else written to D1 here) and, on a route that sells
 * passes, the session it bought. Runs once per settlement, after the paid step answered
 * (pay-once.ts) or, for a metered stream, when the stream settles at its end (metered.ts).
 * The money moved: nothing here can take the content back; a failure is logged.
 */

/** What the record step knows of the paid request. */
export interface PaidFacts {
  url: URL;
  forwardPath: string;
  rule: string;
  /** The payment as checked against the offer it paid. */
  prepared: Extract<PreparedPayment, { type: "ready" }>;
  /** The charged crawler (pay-per-crawl), for the receipt. */
  crawler?: CrawlerTag | undefined;
  /** On a route that sells passes: what a payment buys. */
  pass?: { scope: string; session: NonNullable<Offer["session"]> } | undefined;
}

/** What the record step writes to. */
export interface RecordDeps {
  ledger?: ReceiptsLedger | undefined;
  sessions?: SessionDeps | undefined;
  /** The request's `waitUntil`: the receipt is written after the answer when it can be. */
  defer?: ((work: Promise<unknown>) => void) | undefined;
}

/**
 * Records `settled` (ledger) and grants the pass it bought, if any: the grant's outcome, to add
 * to the paid response (`withGrant`).
 */
export async function recordSettlement(
  facts: PaidFacts,
  settled: Settled,
  deps: RecordDeps,
): Promise<SessionResult | undefined> {
  const { prepared, pass } = facts;
  const { receipt, payer, reference } = settled;
  // The receipt went to the payer's lock with the outcome when there is one: the payer's object
  // writes it to D1, and it is written here only if the lock did not take it. Either way it is
  // written after the answer goes out when the runtime lets work go on (admin reads in this
  // isolate wait for it; see src/ledger/ledger.ts).
  const recorded = recordReceipt(
    deps.ledger,
    settled.ledger ?? { receipt: ledgerReceipt(facts, receipt, payer) },
  );
  if (deps.defer) deps.defer(recorded);
  else await recorded;
  if (!pass || !deps.sessions || !payer) return undefined;
  const paidWith = prepared.offer;
  return deps.sessions.service.grant(
    {
      payer,
      // What this payment bought: the scope at the price of the offer it paid.
      want: {
        scope: pass.scope,
        network: paidWith.network,
        asset: paidWith.asset,
        amount: paidWith.amount,
      },
      ttlSeconds: pass.session.ttlSeconds,
      uses: pass.session.uses,
      payment: reference,
    },
    deps.defer,
  );
}

/**
 * The ledger receipt of a settlement of the paid request `facts` describes: the offer actually
 * paid (its network, payee, asset and, for a metered payment, the amount settled).
 */
export function ledgerReceipt(
  facts: PaidFacts,
  receipt: SettleResponse,
  payer: string | undefined,
): Receipt {
  const { prepared } = facts;
  return receiptOf({
    url: facts.url,
    forwardPath: facts.forwardPath,
    crawler: facts.crawler,
    match: {
      rule: facts.rule,
      offer:
        prepared.offer.metered && receipt.amount !== undefined
          ? { ...prepared.offer, amount: receipt.amount }
          : prepared.offer,
    },
    paymentPayload: prepared.request.paymentPayload,
    x402Version: prepared.x402Version,
    settlement: receipt,
    payer,
    session: facts.pass?.scope,
  });
}

/**
 * Adds the new session to a paid response. A store that cannot be reached does not cost the
 * payer the pass: its token goes out and the grant is retried (src/sessions/service.ts); only a
 * refused grant (the payment granted one before) leaves the response without a token.
 */
export function withGrant(
  paid: Response,
  granted: SessionResult | undefined,
  scope: string | undefined,
): Response {
  if (!granted || scope === undefined) return paid;
  if (granted.type === "admitted") return sessionResponse(paid, granted, scope);
  console.error("a paid request's session was not recorded", granted.reason);
  return paid;
}
