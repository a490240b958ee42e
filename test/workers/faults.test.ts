import { env } from "cloudflare:test";
import type { SettleResponse } from "@x402/core/types";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { durablePaymentLocks } from "../../src/idempotency";
import { preparePayment } from "../../src/payments";
import { decodePayment } from "../../src/x402";
import type { Facilitator, FacilitatorRequest } from "../../src/payments";
import { payOnce } from "../../src/paywall/pay-once";
import type { Offer } from "../../src/pricing";
import { tally } from "../support/tally";
import { crawlTable, signedRequest } from "./crawler-helpers";
import {
  PAYER,
  SESSION_HOST,
  TABLE,
  call,
  decodeHeader,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Storage faults inside workerd: each Durable Object namespace is wrapped so that one of its
 * calls throws, at each point of the request path where it is called, and a client goes away
 * while the origin is answering. Whatever fails, a payment is never settled without the content
 * being served, never settled twice, and a failure never opens anything for free. (Facilitator
 * and origin faults are in test/e2e/faults.test.ts, on the real stack.)
 */

const BASE = "https://paywall.test";
const faults = tally("storage faults (workerd)");
afterAll(() => faults.report());

beforeEach(async () => {
  await putTable({ ...TABLE, rules: [...TABLE.rules, { path: "/slow/*", price: "$0.001" }] });
});

/** The namespace, with every stub's `failing` methods throwing. */
function throwing<T>(typed: T, failing: string[]): T {
  const namespace = typed as unknown as DurableObjectNamespace;
  const wrapStub = (stub: object) =>
    new Proxy(stub, {
      get(target, name) {
        if (failing.includes(String(name))) {
          return () => Promise.reject(new Error(`injected fault in ${String(name)}`));
        }
        // An RPC stub answers any property with a remote method, even `bind`: call it in place.
        return (...args: unknown[]) =>
          (target as Record<string | symbol, (...a: unknown[]) => unknown>)[name]!(...args);
      },
    });
  return new Proxy(namespace, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name);
      if (name === "get") return (id: DurableObjectId) => wrapStub(target.get(id));
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as unknown as T;
}

async function pay(url: string, overrides: Parameters<typeof call>[1] = {}) {
  const challenge = await call(new Request(url));
  expect(challenge.status).toBe(402);
  const payment = paymentFor(challenge);
  const response = await call(
    new Request(url, { headers: { "PAYMENT-SIGNATURE": payment.header } }),
    overrides,
  );
  return { response, ...payment };
}

const ops = async (nonce: string) => (await facilitatorCalls(nonce)).map((c) => c.op);

describe("a Durable Object call throwing", () => {
  it("should refuse a payment whose lock cannot be claimed, settling nothing", async () => {
    await faults.run(async () => {
      const path = `/api/${unique()}`;
      const { response, nonce } = await pay(`${BASE}${path}`, {
        PAYMENTS: throwing(env.PAYMENTS!, ["claim"]),
      });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: "payment_lock_unavailable" });
      // At most the verify that runs beside the claim (it moves no money); never a settle.
      expect((await ops(nonce)).filter((op) => op !== "verify")).toEqual([]);
      expect(await originSaw(path)).toBe(0);
    });
  });

  it("should serve what was settled when recording the outcome throws, and settle no copy again", async () => {
    await faults.run(async () => {
      const path = `/api/${unique()}`;
      const broken = throwing(env.PAYMENTS!, ["finish"]);
      const challenge = await call(new Request(`${BASE}${path}`));
      const { header, nonce } = paymentFor(challenge);
      const send = () =>
        call(new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }), {
          PAYMENTS: broken,
        });
      const paid = await send();
      expect(paid.status).toBe(200);
      expect(decodeHeader(paid.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ success: true });
      expect(await paid.json()).toMatchObject({ method: "GET" });
      // The claim was never marked settled: a copy finds it still being worked on, not free.
      const copy = await send();
      expect(copy.status).toBe(409);
      expect(await ops(nonce)).toEqual(["verify", "settle"]);
      expect(await originSaw(path)).toBe(1);
    });
  });

  it("should still serve a paid request when its session cannot be recorded at once, and record it after the answer", async () => {
    await faults.run(async () => {
      const path = `/pass/${unique()}`;
      const { response, nonce } = await pay(`https://${SESSION_HOST}${path}`, {
        SESSIONS: throwing(env.SESSIONS!, ["grant"]),
      });
      expect(response.status).toBe(200);
      const token = response.headers.get("PAYMENT-SESSION");
      expect(token).toMatch(/^x402s1\./);
      expect(await ops(nonce)).toEqual(["verify", "settle"]);
      expect(await originSaw(path)).toBe(1);
      // The grant was retried after the answer (the store's catch-up call did not throw).
      const again = await call(
        new Request(`https://${SESSION_HOST}${path}/again`, {
          headers: { "PAYMENT-SESSION": token! },
        }),
      );
      expect(again.status).toBe(200);
      expect(await ops(nonce)).toEqual(["verify", "settle"]);
    });
  });

  it("should answer 503 to a session token when the session store throws, serving nothing", async () => {
    await faults.run(async () => {
      const id = unique();
      const { response } = await pay(`https://${SESSION_HOST}/pass/${id}`);
      const token = response.headers.get("PAYMENT-SESSION")!;
      const path = `/pass/${id}/again`;
      const again = await call(
        new Request(`https://${SESSION_HOST}${path}`, { headers: { "PAYMENT-SESSION": token } }),
        { SESSIONS: throwing(env.SESSIONS!, ["useToken"]) },
      );
      expect(again.status).toBe(503);
      expect(await again.json()).toMatchObject({ error: "session_store_unavailable" });
      expect(await originSaw(path)).toBe(0);
    });
  });

  it("should answer 503 InternalError when crawl credit cannot be debited, serving nothing", async () => {
    await faults.run(async () => {
      await putTable(crawlTable());
      const path = `/blog/${unique()}`;
      const request = await signedRequest(path, { headers: { "crawler-max-price": "USD 0.01" } });
      const response = await call(request, {
        CRAWL_CREDIT: throwing(env.CRAWL_CREDIT!, ["debit"]),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get("crawler-error")).toBe("InternalError");
      expect(response.headers.get("crawler-charged")).toBeNull();
      expect(await originSaw(path)).toBe(0);
    });
  });

  it("should answer 503 InternalError when a crawler's signature nonce cannot be recorded, charging nothing", async () => {
    await faults.run(async () => {
      await putTable(crawlTable());
      // devbot's USD 0.005 on /articles is below the public USD 0.01: once per signature.
      const path = `/articles/${unique()}`;
      const challenge = await call(await signedRequest(path));
      const { header, nonce } = paymentFor(challenge);
      const request = await signedRequest(path, {
        headers: { "payment-signature": header },
        sign: { components: ["@authority", "signature-agent"] },
      });
      const response = await call(request, {
        CRAWL_CREDIT: throwing(env.CRAWL_CREDIT!, ["useNonce"]),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get("crawler-error")).toBe("InternalError");
      expect(await facilitatorCalls(nonce)).toEqual([]);
      expect(await originSaw(path)).toBe(0);
    });
  });
});

describe("a client that goes away", () => {
  it("should not settle when the client leaves before the origin answers (regression: charged without content)", async () => {
    await faults.run(async () => {
      const path = `/slow/1500/${unique()}`;
      const challenge = await call(new Request(`${BASE}${path}`));
      const { header, nonce } = paymentFor(challenge);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const response = await call(
        new Request(`${BASE}${path}`, {
          headers: { "PAYMENT-SIGNATURE": header },
          signal: controller.signal,
        }),
      );
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
      await new Promise((r) => setTimeout(r, 1500));
      expect(await ops(nonce)).toEqual(["verify"]);
    });
  });
});

describe("an exception inside the paid step", () => {
  it("should keep the payment pending (503 with Retry-After), not a claim stuck settling or a 500, when the paid step throws after the claim, and settle it once on the next copy", async () => {
    const path = `/api/${unique()}`;
    const url = `${BASE}${path}`;
    const challenge = await call(new Request(url));
    const { header, nonce } = paymentFor(challenge);
    const required = decodeHeader<{ accepts: Array<Omit<Offer, "description">> }>(
      challenge.headers.get("PAYMENT-REQUIRED"),
    );
    const offer: Offer = {
      ...required.accepts[0]!,
      description: "API call",
      mimeType: "application/json",
      display: "$0.001",
    };
    const settled: FacilitatorRequest[] = [];
    const facilitator = (settle: Facilitator["settle"]): Facilitator => ({
      verify: async () => ({ type: "answer", body: { isValid: true, payer: PAYER } }),
      settle,
    });
    const run = async (with_: Facilitator) => {
      const request = new Request(url, { headers: { "PAYMENT-SIGNATURE": header } });
      const payment = decodePayment(request.headers);
      if (payment.type !== "v2") throw new Error("not a V2 payment");
      const prepared = preparePayment(payment, offer, url);
      if (prepared.type !== "ready") throw new Error(prepared.reason);
      const result = await payOnce(
        { request, forwardPath: path, resourceUrl: url, offer, prepared },
        {
          facilitator: with_,
          origin: { base: new URL(inject("originUrl")), payerHeader: "x-payer" },
          payments: durablePaymentLocks(env.PAYMENTS!),
        },
      );
      // The answer the step stands for: a refusal is the route's 402.
      if (result.type === "refused") return new Response(result.reason, { status: 402 });
      if (result.type === "stream") throw new Error("not a metered stream");
      return result.response;
    };
    // A fault nothing else catches, after the payment was claimed and its content fetched.
    const thrown = await run(
      facilitator(async (request) => {
        settled.push(request);
        throw new Error("injected: an unexpected exception in the paid step");
      }),
    );
    expect(thrown.status).toBe(503);
    expect(await thrown.json()).toMatchObject({ error: "payment_pending" });
    expect(thrown.headers.get("Retry-After")).toBe("5");
    expect(thrown.headers.get("PAYMENT-RESPONSE")).toBeNull();
    // Pending, not stuck: the next copy is worked on at once (not a 409 for two minutes) and,
    // the content having been withheld, served once when its settlement goes through.
    const copy = await run(
      facilitator(async (request) => {
        settled.push(request);
        return {
          type: "answer",
          body: {
            success: true,
            transaction: `0x${nonce.slice(2)}`,
            network: offer.network as SettleResponse["network"],
          },
        };
      }),
    );
    expect(copy.status).toBe(200);
    expect(decodeHeader(copy.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      transaction: `0x${nonce.slice(2)}`,
    });
    expect(settled).toHaveLength(2);
    expect(await originSaw(path)).toBe(2);
  });
});
