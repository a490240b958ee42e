import type { SettleResponse } from "@x402/core/types";
import {
  boundCrawler,
  directoryHost,
  formatCrawlerPrice,
  identifyByUserAgent,
  isCovered,
} from "../crawlers";
import { creditAccount } from "../credit";
import { preparePayment } from "../payments";
import { decodePayment, settlementHeader } from "../x402";
import type { PreparedPayment } from "../payments";
import { atomicToUsd, usdToAtomic } from "../pricing";
import { challengeResponse, prefersHtml } from "./challenge-response";
import type { CreditTerms, Offer } from "../pricing";
import type { WebBotAuthResult } from "../crawlers";
import type { CreditService, TopUpOutcome } from "../credit";
import { CREDIT_RULE, receiptOf, recordReceipt } from "../ledger";
import type { Receipt } from "../ledger";
import { crawlerErrorResponse } from "./crawler-responses";
import type { PaywallDeps } from "./flow";
import { payOnce } from "./pay-once";
import type { Settled } from "./paid-request";
import { errorResponse } from "./responses";
import { topUpNames } from "./top-up-names";

/**
 * `/__x402/crawl-credit?amount=1.00`: a verified crawler buys prepaid crawl credit with one x402
 * payment of an amount of its choice within the table's `crawlers.credit` bounds. The credit goes
 * to the key that signed the request, and the signature must cover the payment header (a
 * signed request's header cannot be swapped). The payment goes through the same at-most-once
 * step as any other (pay-once.ts): verify, check the credit store is reachable, settle, credit
 * (once per settlement, whichever of its names it comes by: top-up-names.ts).
 *
 * The signature binds the header to the request, not the payment to the key: anyone who saw the
 * header can sign a request of their own around it. What binds the payment to a key is its claim
 * in the lock, which names the key (`boundTo`): once one key's request has claimed it (at work,
 * pending, settled), a copy from another key is a conflict and credits nothing; the owner's
 * retry of a pending top-up is credited to the owner. An x402 header is a bearer instrument
 * until it is used: a copier who sends a header nobody has sent yet (a payment intercepted
 * before it reached the paywall) is credited with it, as it would be served any paid page.
 */

/** The path of the top-up endpoint. */
export const CREDIT_PATH = "/__x402/crawl-credit";

/**
 * Handles a top-up request; `waitUntil` lets the funnel's count of it be written after the
 * answer.
 */
export async function topUpCredit(
  request: Request,
  deps: PaywallDeps,
  waitUntil?: (work: Promise<unknown>) => void,
): Promise<Response> {
  const state = await deps.tables.current();
  if (!state.ok) return errorResponse("price_table_unavailable", state.reason);
  const terms = state.table.crawlers?.credit;
  const credit = deps.crawlers?.credit;
  if (!terms || !credit || !deps.crawlers) {
    return errorResponse("credit_not_sold", "no crawl credit is sold here");
  }
  const signature = await deps.crawlers.verifier.verify(request);
  if (signature.status === "unsigned") {
    const why = "sign this request with Web Bot Auth: credit belongs to the key that signs";
    return crawlerErrorResponse("StrongAuthRequired", why);
  }
  if (signature.status === "unavailable") {
    return crawlerErrorResponse("InternalError", signature.reason, { status: 502 });
  }
  if (signature.status === "invalid")
    return crawlerErrorResponse("InvalidSignature", signature.reason);
  // Named as on the pages it pays for (src/crawlers/policy.ts `crawlerTag`).
  const catalogue = state.table.crawlers?.catalogue;
  const claimed = identifyByUserAgent(request.headers.get("user-agent"), catalogue);
  const crawler = {
    name:
      boundCrawler(signature.directory, claimed, catalogue)?.name ??
      directoryHost(signature.directory) ??
      "signed crawler",
    key: signature.keyid,
  };
  const answer = await sell(
    request,
    { ...deps, defer: waitUntil },
    { terms, credit, signature, crawler },
  );
  const key = { rule: CREDIT_RULE, crawler: crawler.name, crawlerKey: crawler.key };
  deps.funnel?.record(key, request, answer, waitUntil);
  return answer;
}

/** The sale itself, to a crawler whose signature verified. */
async function sell(
  request: Request,
  deps: SellerDeps,
  seller: {
    terms: CreditTerms;
    credit: CreditService;
    signature: Extract<WebBotAuthResult, { status: "verified" }>;
    crawler: { name: string; key: string };
  },
): Promise<Response> {
  const { terms, credit, signature, crawler } = seller;
  const url = new URL(request.url);
  const amount = parseAmount(url.searchParams.get("amount"), terms);
  if (!amount.ok) return errorResponse("bad_amount", amount.reason);
  const offer = creditOffer(terms, amount.atomic);
  const resourceUrl = url.href;
  const html = prefersHtml(request.headers.get("Accept"));
  const challenge = (error?: string, headers?: Record<string, string>) =>
    challengeResponse({ offer, resourceUrl, error, html, headers });

  const payment = decodePayment(request.headers);
  if (payment.type === "none") return challenge();
  if (payment.type === "invalid") return errorResponse("invalid_payment", payment.reason);
  const header = payment.type === "v2" ? "payment-signature" : "x-payment";
  if (!isCovered(signature, [header])) {
    return crawlerErrorResponse("InvalidSignature", `the signature must cover ${header}`);
  }
  const prepared = preparePayment(payment, offer, resourceUrl);
  if (prepared.type === "refused") return challenge(prepared.reason);
  const keyid = signature.keyid;
  // The credit is worth what was paid: to this payee, in this asset, on this network.
  const account = creditAccount(offer);
  // Settled at most once, like any payment: copies get 409, a lost settlement answer is pending
  // and resolved (and credited) by the next copy the same key sends; another key's copy is a
  // conflict (the claim names the key).
  const result = await payOnce(
    {
      request,
      forwardPath: url.pathname,
      resourceUrl,
      offer,
      prepared,
      boundTo: `key:${keyid}`,
      // With a ledger, the receipt goes to the payer's lock with the outcome (settle-once.ts).
      receiptFor: deps.ledger
        ? (receipt: SettleResponse, payer: string | undefined) =>
            topUpReceipt(url, offer, prepared, crawler, receipt, payer)
        : undefined,
      // What the payment buys is credit: reach the store before taking the money, so a store
      // outage costs nothing.
      serve: async () => {
        const balance = await credit.balance(keyid, account);
        if (balance === undefined) {
          const why = "the credit store could not be reached; nothing was charged";
          return { type: "response", response: errorResponse("credit_store_unavailable", why) };
        }
        const body = { keyid, balance: formatCrawlerPrice(balance) };
        return { type: "response", response: Response.json(body) };
      },
    },
    deps,
  );
  const sale: Sale = { url, offer, prepared, keyid, account, amount: amount.atomic, crawler };
  switch (result.type) {
    case "respond":
      return result.response;
    case "refused":
      return challenge(result.reason, result.headers);
    case "paid":
      return credited(sale, result.settled, deps, credit);
    case "settled-before":
      // The same key sends a settled top-up again: credited now if a failure left it uncredited
      // (once per settlement), else answered as any copy.
      if (!result.settled) return result.response;
      return creditedAgain(sale, result.settled, result.response, credit);
    case "settled-copy":
      // Not reached (credit is sold at an exact price); recorded all the same.
      if (result.settled) await credited(sale, result.settled, deps, credit);
      return result.response;
    case "stream":
      return result.open(async (settled) => {
        await credited(sale, settled, deps, credit);
      });
  }
}

/** What the sale works with: the paywall's dependencies and the request's `waitUntil`. */
type SellerDeps = PaywallDeps & { defer?: ((work: Promise<unknown>) => void) | undefined };

/** The ledger receipt of a top-up's settlement. */
function topUpReceipt(
  url: URL,
  offer: Offer,
  prepared: Extract<PreparedPayment, { type: "ready" }>,
  crawler: { name: string; key: string },
  settlement: SettleResponse,
  payer: string | undefined,
): Receipt {
  return receiptOf({
    url,
    forwardPath: url.pathname,
    match: { rule: CREDIT_RULE, offer },
    paymentPayload: prepared.request.paymentPayload,
    x402Version: prepared.x402Version,
    settlement,
    payer,
    crawler,
  });
}

/** A paid top-up, as its record step needs it. */
interface Sale {
  url: URL;
  offer: Offer;
  prepared: Extract<PreparedPayment, { type: "ready" }>;
  keyid: string;
  account: string;
  amount: string;
  crawler: { name: string; key: string };
}

/**
 * The record step of a settled top-up: the ledger records the payment whatever the credit store
 * does next, then the key is credited (once per settlement, by any of its names:
 * top-up-names.ts).
 */
async function credited(
  sale: Sale,
  settled: Settled,
  deps: SellerDeps,
  credit: CreditService,
): Promise<Response> {
  const { url, offer, prepared, keyid, account } = sale;
  const { receipt, payer, reference } = settled;
  // The payer's object writes the receipt when its lock took it; else it is written here. Either
  // way after the answer when the runtime lets work go on (src/ledger/ledger.ts).
  const recorded = recordReceipt(
    deps.ledger,
    settled.ledger ?? {
      receipt: topUpReceipt(url, offer, prepared, sale.crawler, receipt, payer),
    },
  );
  if (deps.defer) deps.defer(recorded);
  else await recorded;
  const names = await topUpNames(prepared, settled);
  let topped = await credit.topUp(keyid, account, names, sale.amount);
  if (topped.type === "unavailable")
    topped = await credit.topUp(keyid, account, names, sale.amount);
  if (topped.type === "unavailable") return notCredited(keyid, reference);
  return creditedResponse(keyid, topped, receipt);
}

/**
 * A copy of a settled top-up from the key it was bound to: the credit is added now when it was
 * not (once per settlement, by any of its names: top-up-names.ts); a copy of one credited
 * before gets `copy`, its answer as any copy of a settled payment.
 */
async function creditedAgain(
  sale: Sale,
  settled: Settled,
  copy: Response,
  credit: CreditService,
): Promise<Response> {
  const { keyid, account } = sale;
  const names = await topUpNames(sale.prepared, settled);
  const topped = await credit.topUp(keyid, account, names, sale.amount);
  if (topped.type === "unavailable") {
    await copy.body?.cancel();
    return notCredited(keyid, settled.reference);
  }
  if (topped.duplicate) return copy;
  await copy.body?.cancel();
  console.error("a settled crawl credit top-up was credited on its copy", keyid, settled.reference);
  return creditedResponse(keyid, topped, settled.receipt);
}

/** The money moved but the credit store could not record it: the same payment again credits it. */
function notCredited(keyid: string, reference: string): Response {
  console.error("a settled crawl credit top-up was not recorded yet", keyid, reference);
  return errorResponse(
    "credit_store_unavailable",
    `paid in ${reference}, but the credit store could not record it yet; send the same payment again, signed by the same key, to have it credited (it is never settled or credited twice)`,
  );
}

function creditedResponse(
  keyid: string,
  topped: Extract<TopUpOutcome, { type: "credited" }>,
  receipt: SettleResponse,
): Response {
  const body = {
    keyid,
    added: formatCrawlerPrice(topped.added),
    balance: formatCrawlerPrice(topped.balance),
    transaction: receipt.transaction,
  };
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      ...settlementHeader(receipt),
    },
  });
}

function parseAmount(
  value: string | null,
  terms: CreditTerms,
): { ok: true; atomic: string } | { ok: false; reason: string } {
  const bounds = `between ${formatCrawlerPrice(terms.min)} and ${formatCrawlerPrice(terms.max)}`;
  if (value === null) return { ok: false, reason: `give ?amount= in US dollars, ${bounds}` };
  const converted = usdToAtomic(`$${value}`, terms.decimals);
  if (!converted.ok) return { ok: false, reason: `amount: ${converted.reason}` };
  const atomic = BigInt(converted.amount);
  if (atomic < BigInt(terms.min) || atomic > BigInt(terms.max)) {
    return { ok: false, reason: `amount must be ${bounds}` };
  }
  return { ok: true, atomic: converted.amount };
}

function creditOffer(terms: CreditTerms, amount: string): Offer {
  return {
    scheme: "exact",
    network: terms.network,
    amount,
    asset: terms.asset,
    payTo: terms.payTo,
    maxTimeoutSeconds: 60,
    extra: terms.extra,
    description: "Prepaid crawl credit",
    mimeType: "application/json",
    display: atomicToUsd(amount, terms.decimals),
  };
}
