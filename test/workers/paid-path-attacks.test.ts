import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  TABLE,
  call,
  facilitator,
  facilitatorCalls,
  originSaw,
  PAYER,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Attacks on the paid path's money rules: a copy of a payment served while (or after) the
 * original was, a faulty chain RPC, and an origin whose paid body breaks after settlement.
 * Each test states the rule it checks; a failure shows a hole.
 */

const BASE = "https://paywall.test";

beforeEach(async () => {
  await putTable({
    ...TABLE,
    rules: [
      { path: "/slow/*", price: "$0.001" },
      { path: "/json-break/*", price: "$0.001" },
      ...TABLE.rules,
    ],
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function send(path: string, header: string, mode: string, vars: Record<string, string> = {}) {
  return call(new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }), {
    FACILITATOR_URLS: facilitator(mode),
    ...vars,
  });
}

async function challengeFor(path: string): Promise<Response> {
  const response = await call(new Request(`${BASE}${path}`));
  expect(response.status).toBe(402);
  return response;
}

const ops = async (nonce: string) => (await facilitatorCalls(nonce)).map((c) => c.op);

/** Ages the payment's claim in its payer's lock, as if its request had held it for long. */
async function age(nonce: string, ms: number): Promise<void> {
  const stub = env.PAYMENTS!.get(env.PAYMENTS!.idFromName(`payer:${PAYER.toLowerCase()}`));
  await runInDurableObject(stub, (_object, state) => {
    state.storage.sql.exec(
      "UPDATE payments SET updated_at = updated_at - ? WHERE substr(key, -66) = ?",
      ms,
      nonce.toLowerCase(),
    );
  });
}

describe("a copy of a payment and the original", () => {
  it("should not serve a copy of a payment whose original request is still at a slow origin (its claim looked stale), once the original settled", async () => {
    // Rule: one payment, one content. An origin slower than the lock's stale limit (2 min;
    // aged here) makes a copy take the claim over as "pending"; both then get the content.
    const path = `/slow/2500/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const original = send(path, header, "ok");
    await new Promise((r) => setTimeout(r, 400));
    await age(nonce, 130_000);
    const copy = await send(path, header, "ok");
    const first = await original;
    const served = [first, copy].filter((r) => r.status === 200).length;
    expect(first.status).toBe(200);
    expect(served).toBe(1);
    // What moved: one settlement on chain, the origin asked to run the paid request twice.
    expect((await ops(nonce)).filter((op) => op === "settle").length).toBeGreaterThanOrEqual(1);
    expect(await originSaw(path)).toBe(1);
  });

  it("should not serve a paid payment a second time when its settled record was lost after the answer went out", async () => {
    // Rule: one payment, one content. "settled" is recorded after the answer (waitUntil); if
    // that write is lost, the claim goes stale and the chain proof serves the copy again.
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const losingSettled = new Proxy(env.PAYMENTS!, {
      get(target, name) {
        if (name !== "get")
          return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
        return (id: DurableObjectId) => {
          const real = target.get(id);
          return {
            claim: (c: never) => real.claim(c),
            finish: (key: string, outcome: { type: string }) =>
              outcome.type === "settled"
                ? Promise.reject(new Error("the write of the settled record was lost"))
                : real.finish(key, outcome as never),
          };
        };
      },
    });
    const first = await send(path, header, "ok", { PAYMENTS: losingSettled as never });
    expect(first.status).toBe(200);
    await age(nonce, 130_000);
    const copy = await send(path, header, "ok");
    expect(copy.status).not.toBe(200);
    expect(await originSaw(path)).toBe(1);
  });
});

describe("a faulty chain RPC", () => {
  it("should never answer 500 when the chain RPC answers garbage logs for a pending payment", async () => {
    // Rule: a fault is a 4xx/502/503, never a 500; the lock must not stay stuck in "settling".
    const rpcUrl = "http://rpc.garbage.test/";
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url !== rpcUrl) return real(input, init);
      const call = JSON.parse(String(init?.body)) as { id: number; method: string };
      const result = call.method === "eth_getLogs" ? [null] : null;
      return Response.json({ jsonrpc: "2.0", id: call.id, result });
    });
    const chain = { CHAIN_RPC_URLS: JSON.stringify({ "eip155:84532": rpcUrl }) };
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const lost = await send(path, header, "settle-lost-unlanded", chain);
    expect(lost.status).toBe(503);
    const copy = await send(path, header, "settle-lost-unlanded", chain);
    expect(copy.status).not.toBe(500);
    // The garbage proves nothing; the copy settled it (the first settle never landed). The
    // next copy finds its outcome, not a claim stuck "settling" (409 in progress for 2 min).
    const again = await send(path, header, "settle-lost-unlanded", chain);
    expect(again.status).not.toBe(500);
    const error = ((await again.json()) as { error?: string }).error;
    expect(error).not.toBe("payment_in_progress");
  });
});

describe("an origin whose paid body breaks", () => {
  it("should not charge for a 200 whose body breaks half way (declared 1000 bytes, 20 sent)", async () => {
    // Rule: no charge without the content. The answer is settled on its headers, then the body
    // streams and breaks: the payer is charged for content that never arrived.
    const path = `/json-break/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const response = await send(path, header, "ok");
    const body = await response.text().then(
      (text) => ({ ok: true, text }),
      () => ({ ok: false, text: "" }),
    );
    const settled = (await ops(nonce)).includes("settle");
    // Either the whole body was delivered, or nothing was settled.
    expect(settled && !(body.ok && body.text.length === 1000)).toBe(false);
  });
});

describe("a pending payment brought to another resource", () => {
  it("should not serve a pending payment to another resource than the one it was claimed for (a payload without resource, as V1 payloads are)", async () => {
    // Rule: a payment buys the request it paid for. The lock records the claim's resource but
    // a pending copy is not compared with it: proven paid, it is served wherever it is sent.
    const paidFor = `/api/${unique()}`;
    const other = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(paidFor), (payload) => {
      delete payload["resource"];
    });
    const lost = await send(paidFor, header, "settle-lost-once");
    expect(lost.status).toBe(503);
    const elsewhere = await send(other, header, "settle-lost-once");
    expect(elsewhere.status).not.toBe(200);
    expect(await originSaw(other)).toBe(0);
    expect((await ops(nonce)).filter((op) => op === "settle").length).toBeGreaterThanOrEqual(1);
  });
});
