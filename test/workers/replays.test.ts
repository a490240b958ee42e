import { beforeEach, describe, expect, it } from "vitest";
import {
  SESSION_HOST,
  TABLE,
  call,
  facilitator,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Retries of a settled payment with the same `payment-identifier`, in workerd with the real
 * local Durable Objects: a retry is served again only as the same operation (method, resource,
 * body), one at a time, a bounded number of times, and never on a rule that sold a pass.
 */

const BASE = "https://paywall.test";
/** How many times a settled payment's content is served again (src/paywall/replay.ts). */
const MAX_REPLAYS = 3;

beforeEach(async () => {
  await putTable({ ...TABLE, rules: [{ path: "/slow/*", price: "$0.001" }, ...TABLE.rules] });
});

/** A payment for `url` (GET's challenge) carrying a fresh payment id. */
async function paymentWithId(url: string) {
  const challenge = await call(new Request(url));
  expect(challenge.status).toBe(402);
  const id = `pay_${unique()}${unique()}${unique()}`;
  return paymentFor(challenge, (payload) => {
    payload["extensions"] = { "payment-identifier": { info: { required: false, id } } };
  });
}

/** Sends a payment and reads the whole answer, as a client does (a replay ends with its body). */
async function send(url: string, header: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("PAYMENT-SIGNATURE", header);
  const response = await call(new Request(url, { ...init, headers }));
  const body = await response.arrayBuffer();
  return new Response(response.status === 304 ? null : body, response);
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

async function settles(nonce: string): Promise<number> {
  return (await facilitatorCalls(nonce)).filter((c) => c.op === "settle").length;
}

describe("a retry with the same payment id", () => {
  it("should refuse a replay with another method, body or resource and reach no origin (regression: a payment id was a bearer pass for any request)", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = await paymentWithId(`${BASE}${path}`);
    const post = { method: "POST", body: "order 1 of 1" };
    const first = await send(`${BASE}${path}`, header, post);
    expect(first.status).toBe(200);
    expect(await originSaw(path)).toBe(1);

    const otherBody = await send(`${BASE}${path}`, header, { method: "POST", body: "order 2" });
    expect(otherBody.status).toBe(409);
    expect(await errorOf(otherBody)).toBe("payment_already_settled");
    expect(otherBody.headers.get("PAYMENT-RESPONSE")).toBe(first.headers.get("PAYMENT-RESPONSE"));
    const otherMethod = await send(`${BASE}${path}`, header, { ...post, method: "PUT" });
    expect(otherMethod.status).toBe(409);
    const noBody = await send(`${BASE}${path}`, header, { method: "DELETE" });
    expect(noBody.status).toBe(409);
    const otherPath = `/api/${unique()}`;
    const otherResource = await send(`${BASE}${otherPath}`, header, post);
    expect(otherResource.status).toBeGreaterThanOrEqual(400);
    expect(await originSaw(path)).toBe(1);
    expect(await originSaw(otherPath)).toBe(0);

    // The same operation is still served again, on the same receipt.
    const same = await send(`${BASE}${path}`, header, post);
    expect(same.status).toBe(200);
    expect(((await same.json()) as { body: string }).body).toBe("order 1 of 1");
    expect(await originSaw(path)).toBe(2);
    expect(await settles(nonce)).toBe(1);
  });

  it("should refuse a pending payment brought back by another request, and resolve it for the same one", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = await paymentWithId(`${BASE}${path}`);
    const mode = { FACILITATOR_URLS: facilitator("settle-500-once") };
    const sendIn = async (body: string) => {
      const headers = { "PAYMENT-SIGNATURE": header };
      return call(new Request(`${BASE}${path}`, { method: "POST", body, headers }), mode);
    };
    const first = await sendIn("order 1");
    expect(await errorOf(first)).toBe("payment_pending");
    const other = await sendIn("order 2");
    expect(other.status).toBe(409);
    expect(await errorOf(other)).toBe("payment_conflict");
    expect(await originSaw(path)).toBe(1);
    const same = await sendIn("order 1");
    expect(same.status).toBe(200);
    expect(await settles(nonce)).toBe(2);
  });

  it("should serve 20 simultaneous replays one at a time, never more than the bound (regression: 20 copies all reached the origin)", async () => {
    const path = `/slow/300/${unique()}`;
    const { header, nonce } = await paymentWithId(`${BASE}${path}`);
    expect((await send(`${BASE}${path}`, header)).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => send(`${BASE}${path}`, header)),
    );
    const served = answers.filter((a) => a.status === 200).length;
    // The origin takes 300 ms: while one replay is served, every other copy is turned away.
    expect(served).toBe(1);
    const refused = await Promise.all(answers.filter((a) => a.status !== 200).map(errorOf));
    expect(refused.every((e) => e === "payment_in_progress")).toBe(true);
    expect(await originSaw(path)).toBe(2);
    for (let i = 0; i < 5; i++) await send(`${BASE}${path}`, header);
    expect(await originSaw(path)).toBe(1 + MAX_REPLAYS);
    expect(await settles(nonce)).toBe(1);
  });

  it("should refuse a replay past the bound with the receipt and reach no origin (regression: a payment id replayed for 10 minutes)", async () => {
    const path = `/api/${unique()}`;
    const { header } = await paymentWithId(`${BASE}${path}`);
    const first = await send(`${BASE}${path}`, header);
    expect(first.status).toBe(200);
    for (let i = 0; i < MAX_REPLAYS; i++) {
      expect((await send(`${BASE}${path}`, header)).status).toBe(200);
    }
    const past = await send(`${BASE}${path}`, header);
    expect(past.status).toBe(409);
    expect(await errorOf(past)).toBe("payment_already_settled");
    expect(past.headers.get("PAYMENT-RESPONSE")).toBe(first.headers.get("PAYMENT-RESPONSE"));
    expect(await originSaw(path)).toBe(1 + MAX_REPLAYS);
  });

  it("should not open a pass's uses beyond what was paid with a replay (regression: replays bypassed the use count)", async () => {
    const path = `/pass/${unique()}`;
    const url = `https://${SESSION_HOST}${path}`;
    const { header, nonce } = await paymentWithId(url);
    const paid = await send(url, header);
    expect(paid.status).toBe(200);
    const token = paid.headers.get("PAYMENT-SESSION");
    expect(token).toBeTruthy();
    for (let i = 0; i < 3; i++) {
      const replay = await send(url, header);
      expect(replay.status).toBe(409);
      expect(await errorOf(replay)).toBe("payment_already_settled");
      expect(replay.headers.get("PAYMENT-SESSION")).toBeNull();
    }
    // The pass bought three uses (the paid request spent one): two more, then a 402.
    const uses: number[] = [];
    for (let i = 0; i < 3; i++) {
      uses.push((await call(new Request(url, { headers: { "PAYMENT-SESSION": token! } }))).status);
    }
    expect(uses).toEqual([200, 200, 402]);
    expect(await originSaw(path)).toBe(3);
    expect(await settles(nonce)).toBe(1);
  });
});
