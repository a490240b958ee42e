import { env, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it } from "vitest";
import {
  call,
  decodeHeader,
  facilitator,
  facilitatorCalls,
  originSaw,
  PAYER,
  paymentFor,
  putTable,
  unique,
} from "./helpers";
import { admin, dashboardFigures } from "./admin-helpers";
import { crawl, crawlTable, freshKey, signedRequest } from "./crawler-helpers";

/**
 * Payments whose settlement outcome is unknown, resolved only from the (fake) chain: a
 * facilitator saying "nonce already used" is never proof of payment, since the payer can spend
 * the nonce without paying the seller (cancelAuthorization, or another authorization with the
 * same nonce to another address). The fake facilitator keeps the fake chain the Worker reads
 * through CHAIN_RPC_URLS (test/support/fakes.ts).
 */

const BASE = "https://paywall.test";

beforeEach(async () => {
  await putTable();
});

async function challengeFor(path: string): Promise<Response> {
  const response = await call(new Request(`${BASE}${path}`));
  expect(response.status).toBe(402);
  return response;
}

function send(path: string, header: string, mode: string, vars: Record<string, string> = {}) {
  return call(new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }), {
    FACILITATOR_URLS: facilitator(mode),
    ...vars,
  });
}

/** Spends `nonce` on the fake chain as the payer could. */
async function spend(nonce: string, state: "cancelled" | "diverted"): Promise<void> {
  const answer = await fetch(`${inject("facilitatorBase")}/__chain?nonce=${nonce}&state=${state}`);
  expect(answer.status).toBe(200);
}

/** `PAYMENTS` whose outcome records all fail: the request holding a claim dies with it. */
function dyingLocks() {
  return new Proxy(env.PAYMENTS!, {
    get(target, name) {
      if (name !== "get")
        return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
      return (id: DurableObjectId) => {
        const real = target.get(id);
        return {
          claim: (c: never) => real.claim(c),
          finish: () => Promise.reject(new Error("the request died")),
        };
      };
    },
  });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.clone().json()) as { error: string }).error;
}

const ops = async (nonce: string) => (await facilitatorCalls(nonce)).map((c) => c.op);

/** Ages the payment's claim in its payer's lock, as if its request died long ago. */
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

describe("a pending payment and the chain", () => {
  it.each<["cancelled" | "diverted"]>([["cancelled"], ["diverted"]])(
    "should never serve a pending payment whose nonce the payer %s on chain (regression: nonce already used taken as payment)",
    async (how) => {
      const path = `/api/${unique()}`;
      const { header, nonce } = paymentFor(await challengeFor(path));
      const lost = await send(path, header, "settle-lost-unlanded");
      expect(await errorOf(lost)).toBe("payment_pending");
      await spend(nonce, how);
      for (let i = 0; i < 2; i++) {
        const copy = await send(path, header, "settle-lost-unlanded");
        expect(copy.status).toBe(402);
        const required = decodeHeader<{ error: string }>(copy.headers.get("PAYMENT-REQUIRED"));
        expect(required.error).toMatch(how === "cancelled" ? /cancelled/ : /without paying/);
        expect(copy.headers.get("PAYMENT-RESPONSE")).toBeNull();
      }
      // The origin ran only for the first attempt; the refused copies never reached it.
      expect(await originSaw(path)).toBe(1);
      expect(await ops(nonce)).toEqual(["verify", "settle"]);
    },
  );

  it("should keep a pending payment pending (503 with Retry-After) when no chain can be read, even if a facilitator says its nonce is used", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const noChain = { CHAIN_RPC_URLS: "" };
    expect(await errorOf(await send(path, header, "settle-lost-unlanded", noChain))).toBe(
      "payment_pending",
    );
    await spend(nonce, "cancelled");
    const copy = await send(path, header, "settle-lost-unlanded", noChain);
    expect(copy.status).toBe(503);
    expect(await errorOf(copy)).toBe("payment_pending");
    expect(copy.headers.get("Retry-After")).toBe("5");
    expect(copy.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(copy.headers.get("PAYMENT-REQUIRED")).toBeNull();
    // An RPC that is down is no proof either.
    const down = await send(path, header, "settle-lost-unlanded", {
      CHAIN_RPC_URLS: JSON.stringify({ "eip155:84532": inject("deadUrl") }),
    });
    expect(await errorOf(down)).toBe("payment_pending");
  });

  it("should release a lost settlement once its authorization expired unused on chain, instead of 503 forever (regression)", async () => {
    const path = `/api/${unique()}`;
    const validBefore = Math.floor(Date.now() / 1000) + 3;
    const { header } = paymentFor(await challengeFor(path), (payload) => {
      const inner = payload["payload"] as { authorization: Record<string, string> };
      inner.authorization["validBefore"] = String(validBefore);
    });
    expect(await errorOf(await send(path, header, "settle-lost-then-expired"))).toBe(
      "payment_pending",
    );
    await new Promise((r) => setTimeout(r, Math.max(0, validBefore * 1000 - Date.now()) + 1100));
    const copy = await send(path, header, "settle-lost-then-expired");
    expect(copy.status).toBe(402);
    const required = decodeHeader<{ error: string }>(copy.headers.get("PAYMENT-REQUIRED"));
    expect(required.error).toMatch(/expired without being used/);
  });

  it("should answer a stale claim's payment proven on chain with its receipt and real transaction (409), never serving it again, settling once", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    // The settle lands but the request dies before its outcome is recorded (finish throws).
    const dying = new Proxy(env.PAYMENTS!, {
      get(target, name) {
        if (name !== "get")
          return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
        return (id: DurableObjectId) => {
          const real = target.get(id);
          return {
            claim: (c: never) => real.claim(c),
            finish: () => Promise.reject(new Error("the request died")),
          };
        };
      },
    });
    const first = await send(path, header, "ok", { PAYMENTS: dying as never });
    expect(first.status).toBe(200);
    expect(await errorOf(await send(path, header, "ok"))).toBe("payment_in_progress");
    await age(nonce, 130_000);
    // The first request may have served it (it did): the copy gets the receipt, not the content.
    const copy = await send(path, header, "ok");
    expect(copy.status).toBe(409);
    expect(await errorOf(copy)).toBe("payment_already_settled");
    expect(decodeHeader(copy.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      transaction: `0x${nonce.slice(2)}`,
    });
    expect(await originSaw(path)).toBe(1);
    expect(await ops(nonce)).toEqual(["verify", "settle"]);
    // Settled now: the next copy gets the same receipt at once.
    const again = await send(path, header, "ok");
    expect(again.status).toBe(409);
    expect(decodeHeader(again.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      transaction: `0x${nonce.slice(2)}`,
    });
    expect(await originSaw(path)).toBe(1);
  });

  it("should never serve a payment whose claim was abandoned while the chain cannot prove it either way, on any copy (regression: a copy of a stale claim reached the origin and was served)", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    // The first request died holding the claim (its outcome was never recorded).
    const dying = dyingLocks();
    expect((await send(path, header, "settle-fail", { PAYMENTS: dying as never })).status).toBe(
      402,
    );
    await age(nonce, 130_000);
    for (let i = 0; i < 2; i++) {
      const copy = await send(path, header, "ok");
      expect(copy.status).toBe(503);
      expect(await errorOf(copy)).toBe("payment_pending");
      expect(copy.headers.get("Retry-After")).toBe("5");
    }
    // Neither copy reached the origin or asked for a settlement.
    expect(await originSaw(path)).toBe(1);
    expect(await ops(nonce)).toEqual(["verify", "settle"]);
  });

  it("should serve a payment-id retry of an abandoned claim proven paid only under the replay rules (the same request)", async () => {
    const path = `/api/${unique()}`;
    const id = `abandoned-${unique()}-retry`;
    const { header, nonce } = paymentFor(await challengeFor(path), (payload) => {
      payload["extensions"] = { "payment-identifier": { info: { required: false, id } } };
    });
    // Served and settled, but its settled record was lost.
    expect((await send(path, header, "ok", { PAYMENTS: dyingLocks() as never })).status).toBe(200);
    await age(nonce, 130_000);
    // Another request (here: a POST) with the payment and its id is refused, never served.
    const other = await call(
      new Request(`${BASE}${path}`, {
        method: "POST",
        body: "x",
        headers: { "PAYMENT-SIGNATURE": header },
      }),
      { FACILITATOR_URLS: facilitator("ok") },
    );
    expect(other.status).toBe(409);
    expect(await originSaw(path)).toBe(1);
    // The same request is a retry: proven paid, it gets the content again with the receipt.
    const retry = await send(path, header, "ok");
    expect(retry.status).toBe(200);
    expect(decodeHeader(retry.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      transaction: `0x${nonce.slice(2)}`,
    });
    expect(await originSaw(path)).toBe(2);
    expect(await ops(nonce)).toEqual(["verify", "settle"]);
  });

  it("should not take a pending payment over with another method on its resource (409, origin not reached)", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    expect(await errorOf(await send(path, header, "settle-lost-once"))).toBe("payment_pending");
    const post = await call(
      new Request(`${BASE}${path}`, { method: "POST", headers: { "PAYMENT-SIGNATURE": header } }),
      { FACILITATOR_URLS: facilitator("settle-lost-once") },
    );
    expect(post.status).toBe(409);
    expect(await errorOf(post)).toBe("payment_conflict");
    expect(await originSaw(path)).toBe(1);
    // The paid request itself is still served once, proven paid.
    const resent = await send(path, header, "settle-lost-once");
    expect(resent.status).toBe(200);
    expect(await originSaw(path)).toBe(2);
    expect(await ops(nonce)).toEqual(["verify", "settle"]);
  });

  it("should refuse a stale claim whose authorization the payer cancelled before it settled (regression)", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    // Verified, then the request dies before settling: the claim is left `settling`.
    const dying = new Proxy(env.PAYMENTS!, {
      get(target, name) {
        if (name !== "get")
          return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
        return (id: DurableObjectId) => {
          const real = target.get(id);
          return {
            claim: (c: never) => real.claim(c),
            finish: () => Promise.reject(new Error("the request died")),
          };
        };
      },
    });
    expect((await send(path, header, "settle-fail", { PAYMENTS: dying as never })).status).toBe(
      402,
    );
    await spend(nonce, "cancelled");
    await age(nonce, 130_000);
    const copy = await send(path, header, "ok");
    expect(copy.status).toBe(402);
    expect(copy.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await originSaw(path)).toBe(1);
  });
});

describe("a pending crawl credit top-up", () => {
  it("should grant no credit for a top-up whose nonce the payer cancelled after its settle answer was lost (regression)", async () => {
    await putTable(crawlTable());
    const key = freshKey();
    const path = `/__x402/crawl-credit?amount=0.05`;
    const { header, nonce } = paymentFor(await crawl(path, { key, method: "POST" }));
    const send = async () =>
      call(
        await signedRequest(path, {
          key,
          method: "POST",
          headers: { "payment-signature": header },
        }),
        { FACILITATOR_URLS: facilitator("settle-lost-unlanded") },
      );
    expect(await errorOf(await send())).toBe("payment_pending");
    await spend(nonce, "cancelled");
    const copy = await send();
    expect(copy.status).toBe(402);
    expect(copy.headers.get("PAYMENT-RESPONSE")).toBeNull();
    // Nothing was credited: spending credit on a priced page still finds none.
    const page = await call(
      await signedRequest(`/blog/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.01" },
      }),
    );
    expect(page.headers.get("crawler-charged")).toBeNull();
  });
});

describe("the operator's view of pending payments", () => {
  it("should list a pending payment with its age and resolve it from the chain on check", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    expect(await errorOf(await send(path, header, "settle-lost-unlanded"))).toBe("payment_pending");
    const listed = await admin("/payments/pending");
    expect(listed.status).toBe(200);
    const { pending } = (await listed.json()) as {
      pending: Array<{ payer: string; key: string; ageSeconds: number; nonce: string }>;
    };
    const entry = pending.find((p) => p.nonce === nonce);
    expect(entry).toMatchObject({ payer: PAYER.toLowerCase() });
    expect(entry!.ageSeconds).toBeGreaterThanOrEqual(0);
    // Times are ISO dates, as on every admin call (`validBefore` too, though signed in seconds).
    const times = entry as unknown as { since: string; checkedAt: unknown; validBefore: string };
    expect(Math.abs(Date.parse(times.since) - Date.now())).toBeLessThan(60_000);
    expect(times.since).toBe(new Date(Date.parse(times.since)).toISOString());
    expect(times.checkedAt).toBeNull();
    expect(times.validBefore).toBe(new Date(Date.parse(times.validBefore)).toISOString());
    const page = dashboardFigures(await (await admin("/__x402/dashboard")).text());
    expect(page.pending.map((p) => p.key)).toContain(entry!.key);
    await spend(nonce, "cancelled");
    const checked = await admin(
      `/payments/pending/${entry!.payer}/${encodeURIComponent(entry!.key)}/check`,
      { method: "POST" },
    );
    expect(checked.status).toBe(200);
    expect(await checked.json()).toMatchObject({ outcome: "refused" });
    const after = (await (await admin("/payments/pending")).json()) as {
      pending: Array<{ nonce: string }>;
    };
    expect(after.pending.find((p) => p.nonce === nonce)).toBeUndefined();
    const copy = await send(path, header, "ok");
    expect(copy.status).toBe(402);
  });
});
