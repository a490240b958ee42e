import { env, runInDurableObject } from "cloudflare:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import {
  PAY_TO,
  call,
  decodeHeader,
  facilitator,
  facilitatorCalls,
  originSaw,
  putTable,
  unique,
} from "./helpers";
import type { PaymentLocks } from "../../src/idempotency/store";

/**
 * Metered rules that read the usage from a stream's events (`metered.usage.sse`), answered in
 * ways a client can ask for: one JSON answer (`stream: false`), or a stream that never reports
 * its usage. Content that goes out is charged (the usage, else the maximum signed for); content
 * that cannot be charged does not go out. A HEAD opens nothing and leaves no claim.
 */

const BASE = "https://metered.test";
const UPTO_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";
/** The $0.05 maximum of the rules below, in atomic units. */
const MAX = "50000";
const SSE = { unitPrice: "$0.0001", usage: { sse: "usage.total_tokens" } };

beforeEach(async () => {
  await putTable({
    version: "metered-answers",
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules: [
      "/json-usage/*",
      "/json-big/*",
      "/json-break/*",
      "/sse-usage/*",
      "/sse-break/*",
      "/sse-hold/*",
    ].map((path) => ({ path, price: "$0.05", metered: SSE })),
  });
});

type Accept = Record<string, unknown> & { amount: string; payTo: string };

/** A signed-looking upto payment for `path` (the fake facilitator checks no signature). */
async function uptoPayment(path: string): Promise<{ header: string; nonce: string }> {
  const challenge = await call(new Request(`${BASE}${path}`));
  expect(challenge.status).toBe(402);
  const required = decodeHeader<{ resource: unknown; accepts: Accept[] }>(
    challenge.headers.get("PAYMENT-REQUIRED"),
  );
  const accepted = required.accepts[0]!;
  const nonce = String(BigInt(`0x${unique()}${unique()}`));
  const payload = {
    x402Version: 2,
    resource: required.resource,
    accepted,
    payload: {
      signature: "0x" + "22".repeat(65),
      permit2Authorization: {
        from: privateKeyToAccount(generatePrivateKey()).address,
        permitted: { token: accepted["asset"], amount: accepted.amount },
        spender: UPTO_PROXY,
        nonce,
        deadline: String(Math.floor(Date.now() / 1000) + 600),
        witness: {
          to: accepted.payTo,
          facilitator: (accepted["extra"] as Record<string, string>)["facilitatorAddress"],
          validAfter: "0",
        },
      },
    },
  };
  return { header: btoa(JSON.stringify(payload)), nonce };
}

function send(path: string, header: string, mode = "ok", method = "GET"): Promise<Response> {
  return call(new Request(`${BASE}${path}`, { method, headers: { "PAYMENT-SIGNATURE": header } }), {
    FACILITATOR_URLS: facilitator(mode),
  });
}

/** The amounts the fake facilitator was asked to settle for a permit nonce. */
async function settled(nonce: string): Promise<string[]> {
  const calls = await facilitatorCalls(`0x${BigInt(nonce).toString(16)}`);
  return calls
    .filter((c) => c.op === "settle")
    .map((c) => (c.body as { paymentRequirements: { amount: string } }).paymentRequirements.amount);
}

describe("a metered stream rule answered with JSON", () => {
  it("should settle the usage in the JSON before releasing it (regression: a non-stream answer was free)", async () => {
    const path = `/json-usage/42/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const response = await send(path, header);
    expect(response.status).toBe(200);
    expect(decodeHeader(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      amount: "4200",
    });
    expect(await response.json()).toMatchObject({ text: "hello world" });
    expect(await settled(nonce)).toEqual(["4200"]);
  });

  it("should settle the maximum for JSON without usage (regression: it was delivered for nothing)", async () => {
    const path = `/json-usage/none/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const response = await send(path, header);
    expect(response.status).toBe(200);
    expect(decodeHeader(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ amount: MAX });
    expect(await response.json()).toEqual({ text: "hello world" });
    expect(await settled(nonce)).toEqual([MAX]);
  });

  it("should withhold the JSON when its settlement fails or is pending", async () => {
    const failing = `/json-usage/7/${unique()}`;
    const refused = await uptoPayment(failing);
    const failed = await send(failing, refused.header, "settle-fail");
    expect(failed.status).toBe(402);
    expect(await failed.text()).not.toContain("hello world");
    expect(await settled(refused.nonce)).toEqual(["700"]);

    const lost = `/json-usage/none/${unique()}`;
    const pending = await uptoPayment(lost);
    const unknown = await send(lost, pending.header, "settle-500");
    expect(unknown.status).toBe(502);
    const body = await unknown.text();
    expect(body).toContain("payment_pending");
    expect(body).not.toContain("hello world");
  });

  it("should deliver held JSON to the copy that settles it after the first settlement's outcome was lost (regression: answered 409 as if a stream had gone out, charging for content never delivered)", async () => {
    const path = `/json-usage/42/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const first = await send(path, header, "settle-500-once");
    expect(first.status).toBe(502);
    expect(await first.text()).not.toContain("hello world");
    const copy = await send(path, header, "settle-500-once");
    expect(copy.status).toBe(200);
    expect(await copy.json()).toMatchObject({ text: "hello world" });
    expect(decodeHeader(copy.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      amount: "4200",
    });
    // Asked twice (the first answer was lost), moved once (the permit's nonce).
    expect(await settled(nonce)).toEqual(["4200", "4200"]);
  });

  it("should settle the maximum for JSON too long to be read for usage, then deliver it whole", async () => {
    const path = `/json-big/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const response = await send(path, header);
    expect(response.status).toBe(200);
    expect(decodeHeader(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ amount: MAX });
    const body = (await response.json()) as { text: string; usage: unknown };
    expect(body.text).toHaveLength(2 << 20);
    expect(body.usage).toEqual({ total_tokens: 1 });
    expect(await settled(nonce)).toEqual([MAX]);
  });

  it("should charge nothing when the JSON body breaks before it is read", async () => {
    const path = `/json-break/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const response = await send(path, header);
    expect(response.status).toBe(502);
    expect(await response.text()).not.toContain("half of it");
    expect(await settled(nonce)).toEqual([]);
  });
});

describe("a metered stream without a usage report", () => {
  it("should settle the maximum for a stream that ends without reporting usage (regression: it was free)", async () => {
    const path = `/sse-usage/none/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const response = await send(path, header);
    const text = await response.text();
    expect(text).toContain('data: {"text":"hello"}');
    const event = /event: x402-payment-response\ndata: (.*)\n/.exec(text);
    expect(JSON.parse(event![1]!)).toMatchObject({ success: true, amount: MAX });
    expect(await settled(nonce)).toEqual([MAX]);
  });

  it("should settle what a served stream owes on its copy when the first settle's outcome was lost, once, without opening another stream (regression: it stayed pending forever)", async () => {
    const path = `/sse-usage/42/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const first = await send(path, header, "settle-500-once");
    const text = await first.text();
    expect(text).toContain('data: {"text":"hello"}');
    expect(text).toContain("payment_pending");
    const copy = await send(path, header, "settle-500-once");
    expect(copy.status).toBe(409);
    expect(((await copy.json()) as { error: string }).error).toBe("payment_already_settled");
    expect(decodeHeader(copy.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      amount: "4200",
    });
    const again = await send(path, header, "settle-500-once");
    expect(again.status).toBe(409);
    // One stream went out; the amount it owed was asked twice (the first answer was a 500)
    // and moved once; no other stream was opened.
    expect(await settled(nonce)).toEqual(["4200", "4200"]);
    expect(await originSaw(path)).toBe(1);
  });

  it("should charge nothing when the origin breaks the stream before reporting usage", async () => {
    const path = `/sse-break/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const response = await send(path, header);
    await response.text().catch(() => "");
    await new Promise((r) => setTimeout(r, 200));
    expect(await settled(nonce)).toEqual([]);
  });
});

describe("HEAD on a metered stream rule", () => {
  it("should open no stream and leave no claim (regression: the stream was dropped uncancelled and its claim stuck)", async () => {
    const path = `/sse-hold/${unique()}`;
    const { header, nonce } = await uptoPayment(path);
    const head = await send(path, header, "ok", "HEAD");
    expect(head.status).toBe(402);
    expect(await originSaw(path)).toBe(0);
    expect(await settled(nonce)).toEqual([]);
    // Nothing holds the payment: the GET it was signed for goes through.
    const get = await send(path, header);
    expect(get.status).toBe(200);
    await get.body?.cancel();
  });
});

describe("the payment lock's record of content that went out before its settlement", () => {
  it("should keep a pending payment served once a stream went out, and not served when its answer was withheld", async () => {
    const stub = env.PAYMENTS!.get(env.PAYMENTS!.idFromName(`payer:served-${unique()}`));
    const claim = (key: string) => ({
      key,
      payloadHash: "h",
      paymentId: undefined,
      resource: "GET https://metered.test/x",
      validUntil: Date.now() + 600_000,
    });
    await runInDurableObject(stub, (locks: PaymentLocks) => {
      expect(locks.claim(claim("withheld"))).toEqual({ type: "acquired" });
      locks.finish("withheld", { type: "pending", charged: "700" });
      expect(locks.claim(claim("withheld"))).toMatchObject({ type: "pending", served: false });

      expect(locks.claim(claim("streamed"))).toEqual({ type: "acquired" });
      locks.finish("streamed", { type: "pending", charged: "700", served: true });
      expect(locks.claim(claim("streamed"))).toMatchObject({ type: "pending", served: true });
      // A later attempt that withheld nothing new never takes back that it went out.
      locks.finish("streamed", { type: "pending" });
      expect(locks.claim(claim("streamed"))).toMatchObject({ type: "pending", served: true });
    });
  });
});
