import type { SettleResponse, VerifyResponse } from "@x402/core/types";
import type {
  Claim,
  ClaimResult,
  Handoff,
  Outcome,
  PaymentLockService,
} from "../../../src/idempotency/index.ts";
import type {
  Facilitator,
  FacilitatorRequest,
  FacilitatorResult,
} from "../../../src/payments/index.ts";
import { preparePayment } from "../../../src/payments/index.ts";
import type { Offer } from "../../../src/pricing/index.ts";
import type { PaidRequest } from "../../../src/paywall/paid-request.ts";
import { BASE_SEPOLIA, OFFER, PAYER, RESOURCE_URL, paymentV2 } from "../fixtures.ts";

/**
 * Fakes for the paid-path steps run in Node: a facilitator and a payment lock that count their
 * calls and answer as told, and a paid request for the fixtures' one-cent offer. Importing the
 * paywall needs `cloudflare:workers` mocked (the lock's Durable Object class): each test file
 * does that first.
 */

export const TRANSACTION = `0x${"cd".repeat(32)}`;

/** A successful settlement of `amount`. */
export function receipt(amount = OFFER.amount): SettleResponse {
  return {
    success: true,
    transaction: TRANSACTION,
    network: BASE_SEPOLIA as SettleResponse["network"],
    payer: PAYER,
    amount,
  };
}

/** A facilitator answering verify and settle as given, recording every call. */
export function fakeFacilitator(
  answers: {
    verify?: FacilitatorResult<VerifyResponse>;
    settle?: FacilitatorResult<SettleResponse>;
  } = {},
) {
  const calls = { verify: [] as FacilitatorRequest[], settle: [] as FacilitatorRequest[] };
  const facilitator: Facilitator = {
    verify: async (request) => {
      calls.verify.push(request);
      return answers.verify ?? { type: "answer", body: { isValid: true, payer: PAYER } };
    },
    settle: async (request) => {
      calls.settle.push(request);
      return answers.settle ?? { type: "answer", body: receipt() };
    },
  };
  return { facilitator, calls };
}

/**
 * A payment lock that answers every claim with `claimed` and every outcome with `handoff` (what
 * became of a ledger receipt), recording claims and outcomes.
 */
export function fakeLock(
  claimed: ClaimResult | { type: "unavailable" } = { type: "acquired" },
  handoff: Handoff | "unavailable" = "declined",
) {
  const claims: Claim[] = [];
  const finished: Outcome[] = [];
  const lock: PaymentLockService = {
    claim: async (_payer, claim) => {
      claims.push(claim);
      return claimed;
    },
    finish: async (_payer, _key, outcome) => {
      finished.push(outcome);
      return handoff;
    },
    startReplay: async () => ({ type: "exhausted" }),
    endReplay: async () => undefined,
  };
  return { lock, claims, finished };
}

/** What the origin would answer, counted. */
export function fakeContent(response: () => Response = () => new Response("the article")) {
  const served: (string | undefined)[] = [];
  const serve = async (payer: string | undefined) => {
    served.push(payer);
    return { type: "response" as const, response: response() };
  };
  return { serve, served };
}

/** A paid GET (or `method`) of RESOURCE_URL carrying a V2 payment of OFFER. */
export function paidRequest(
  serve: PaidRequest["serve"],
  options: { method?: string; offer?: Offer } = {},
): PaidRequest {
  const offer = options.offer ?? OFFER;
  const request = new Request(RESOURCE_URL, { method: options.method ?? "GET" });
  const prepared = preparePayment({ type: "v2", payload: paymentV2() }, offer, RESOURCE_URL);
  if (prepared.type !== "ready") throw new Error(prepared.reason);
  return {
    request,
    forwardPath: "/articles/paid",
    resourceUrl: RESOURCE_URL,
    offer,
    prepared,
    serve,
  };
}

/** The origin options of a test; the steps here never reach it (content is served by `serve`). */
export const NO_ORIGIN = { base: new URL("http://127.0.0.1:9/"), payerHeader: "x-payer" };
