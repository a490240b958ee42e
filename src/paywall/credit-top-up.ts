import { formatCrawlerPrice, isCovered } from "../crawlers";
import { decodePayment, preparePayment } from "../payments";
import { atomicToUsd, challengeResponse, prefersHtml, usdToAtomic } from "../pricing";
import type { CreditTerms, Offer } from "../pricing";
import { recordPayment } from "../ledger";
import { crawlerErrorResponse } from "./crawler-responses";
import type { PaywallDeps } from "./flow";
import { errorResponse, settlementHeader } from "./responses";
import { encodePaymentResponseHeader } from "@x402/core/http";

/**
 * `/__x402/crawl-credit?amount=1.00`: a verified crawler buys prepaid crawl credit with one x402
 * payment of an amount of its choice within the table's `crawlers.credit` bounds. The credit goes
 * to the key that signed the request, and the signature must cover the payment header, so a
 * payment cannot be lifted onto another key's request. Order: verify, check the credit store is
 * reachable, settle, credit (once per settlement).
 */

/** The path of the top-up endpoint. */
export const CREDIT_PATH = "/__x402/crawl-credit";

/** Handles a top-up request. */
export async function topUpCredit(request: Request, deps: PaywallDeps): Promise<Response> {
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
  const verified = await deps.facilitator.verify(prepared.request);
  if (verified.type === "unavailable") {
    return errorResponse("facilitator_unavailable", verified.reason, verified.status);
  }
  if (!verified.body.isValid) {
    const why = verified.body.invalidReason ?? "the payment is not valid";
    return challenge(why);
  }
  // Reach the store before taking the money, so a store outage costs nothing.
  if ((await credit.balance(signature.keyid)) === undefined) {
    return errorResponse(
      "credit_store_unavailable",
      "the credit store could not be reached; nothing was charged",
    );
  }
  const settled = await deps.facilitator.settle(prepared.request);
  if (settled.type === "unavailable") {
    return errorResponse(
      "facilitator_unavailable",
      `the settlement did not complete (${settled.reason})`,
      settled.status,
    );
  }
  if (!settled.body.success) {
    const why = settled.body.errorReason ?? "the settlement failed";
    return challenge(why, settlementHeader(settled.body));
  }
  // The money moved: the ledger records it whatever the credit store does next.
  await recordPayment(deps.ledger, {
    url,
    forwardPath: url.pathname,
    match: { rule: "crawlers.credit", offer },
    paymentPayload: prepared.request.paymentPayload,
    x402Version: prepared.x402Version,
    settlement: settled.body,
    payer: verified.body.payer,
    crawler: signature.keyid,
  });
  const reference = `${settled.body.network}:${settled.body.transaction}`;
  let credited = await credit.topUp(signature.keyid, reference, amount.atomic);
  if (credited.type === "unavailable")
    credited = await credit.topUp(signature.keyid, reference, amount.atomic);
  if (credited.type === "unavailable") {
    console.error("a settled crawl credit top-up was not recorded", signature.keyid, reference);
    return errorResponse(
      "credit_store_unavailable",
      `paid in ${reference}, but the credit store failed to record it; the operator's logs hold the payment for a manual credit`,
    );
  }
  const body = {
    keyid: signature.keyid,
    added: formatCrawlerPrice(credited.added),
    balance: formatCrawlerPrice(credited.balance),
    transaction: settled.body.transaction,
  };
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "PAYMENT-RESPONSE": encodePaymentResponseHeader(settled.body),
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
