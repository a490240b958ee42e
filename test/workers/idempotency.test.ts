import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import {
  call,
  decodeHeader,
  facilitator,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";
import worker from "../../src/worker";

/**
 * At most one settlement per payment, in workerd with the real local Durable Objects: the
 * authorization nonce lock, the payment-identifier extension, and settlements whose outcome is
 * unknown (recorded as pending, resolved by the next copy of the payment).
 */

const BASE = "https://paywall.test";
const PAYMENT_ID = "pay_0123456789abcdef0123";

beforeEach(async () => {
  await putTable();
});

async function challengeFor(path: string): Promise<Response> {
  const response = await call(new Request(`${BASE}${path}`));
  expect(response.status).toBe(402);
  return response;
}

function send(path: string, header: string, mode = "ok"): Promise<Response> {
  return call(new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }), {
    FACILITATOR_URLS: facilitator(mode),
  });
}

/** A payment for `path` carrying a payment id. */
async function paymentWithId(path: string, id = PAYMENT_ID) {
  return paymentFor(await challengeFor(path), (payload) => {
    payload["extensions"] = { "payment-identifier": { info: { required: false, id } } };
  });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

describe("one payment, many copies", () => {
  it("should settle once and answer 49 of 50 simultaneous copies with 409", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const answers = await Promise.all(Array.from({ length: 50 }, () => send(path, header)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    const codes = new Set(await Promise.all(answers.filter((a) => a.status === 409).map(errorOf)));
    expect(
      [...codes].every((c) => c === "payment_in_progress" || c === "payment_already_settled"),
    ).toBe(true);
    expect((await facilitatorCalls(nonce)).map((c) => c.op)).toEqual(["verify", "settle"]);
    expect(await originSaw(path)).toBe(1);
  });

  it("should answer a later copy with the first receipt and no content", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const first = await send(path, header);
    expect(first.status).toBe(200);
    const again = await send(path, header);
    expect(again.status).toBe(409);
    expect(await errorOf(again)).toBe("payment_already_settled");
    expect(again.headers.get("PAYMENT-RESPONSE")).toBe(first.headers.get("PAYMENT-RESPONSE"));
    expect(await facilitatorCalls(nonce)).toHaveLength(2);
    expect(await originSaw(path)).toBe(1);
  });

  it("should answer a settled payment before its outcome is recorded, and a later copy with the receipt", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const namespace = env.PAYMENTS!;
    // The lock's "settled" record waits until released; the paid answer must not.
    const slow = new Proxy(namespace, {
      get(target, name) {
        if (name !== "get") {
          const value: unknown = Reflect.get(target, name);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return (id: DurableObjectId) => {
          const stub = target.get(id);
          return new Proxy(stub, {
            get(inner, method) {
              const call = (...args: unknown[]) =>
                (inner as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
                  String(method)
                ]!(...args);
              if (method !== "finish") return call;
              return async (...args: unknown[]) => {
                await held;
                return call(...args);
              };
            },
          });
        };
      },
    }) as typeof namespace;
    const ctx = createExecutionContext();
    const request = new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } });
    const first = await worker.fetch(
      request,
      { ...env, PAYMENTS: slow, FACILITATOR_URLS: facilitator("ok") },
      ctx,
    );
    expect(first.status).toBe(200);
    release();
    await waitOnExecutionContext(ctx);
    const copy = await send(path, header);
    expect(copy.status).toBe(409);
    expect(await errorOf(copy)).toBe("payment_already_settled");
    expect((await facilitatorCalls(nonce)).map((c) => c.op)).toEqual(["verify", "settle"]);
  });

  it("should let a payment whose verification failed come again", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    expect((await send(path, header, "invalid")).status).toBe(402);
    expect((await send(path, header)).status).toBe(200);
    expect((await facilitatorCalls(nonce)).map((c) => c.op)).toEqual([
      "verify",
      "verify",
      "settle",
    ]);
  });

  it("should refuse a copy whose bytes differ under the same authorization nonce", async () => {
    const path = `/api/${unique()}`;
    const challenge = await challengeFor(path);
    const { header, nonce } = paymentFor(challenge);
    expect((await send(path, header)).status).toBe(200);
    const signed = JSON.parse(atob(header)) as { payload: { signature: string } };
    signed.payload.signature = "0x" + "22".repeat(65);
    const other = await send(path, btoa(JSON.stringify(signed)));
    expect(other.status).toBe(409);
    expect(await errorOf(other)).toBe("payment_conflict");
    expect(await facilitatorCalls(nonce)).toHaveLength(2);
  });

  it("should answer 503 and settle nothing when the lock cannot be reached", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const down = () => Promise.reject(new Error("storage down"));
    const broken = {
      idFromName: (name: string) => env.PAYMENTS!.idFromName(name),
      get: () => ({ claim: down, finish: down }),
    } as unknown as typeof env.PAYMENTS;
    const response = await call(
      new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }),
      { PAYMENTS: broken },
    );
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toBe("payment_lock_unavailable");
    // At most the verify that runs beside the claim (it moves no money); never a settle.
    const ops = (await facilitatorCalls(nonce)).map((c) => c.op);
    expect(ops.filter((op) => op !== "verify")).toEqual([]);
    expect(await originSaw(path)).toBe(0);
  });
});

describe("payment-identifier", () => {
  it("should declare the extension in every 402", async () => {
    const required = decodeHeader<{ extensions: Record<string, { info: unknown }> }>(
      (await challengeFor(`/api/${unique()}`)).headers.get("PAYMENT-REQUIRED"),
    );
    expect(required.extensions["payment-identifier"]?.info).toEqual({ required: false });
  });

  it("should give a retry with the same id the content again and the same receipt", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = await paymentWithId(path);
    const first = await send(path, header);
    expect(first.status).toBe(200);
    const retry = await send(path, header);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("PAYMENT-RESPONSE")).toBe(first.headers.get("PAYMENT-RESPONSE"));
    expect(await facilitatorCalls(nonce)).toHaveLength(2);
    expect(await originSaw(path)).toBe(2);
  });

  it("should refuse the same id with another payment with 409", async () => {
    const path = `/api/${unique()}`;
    const id = `pay_${unique()}${unique()}`;
    expect((await send(path, (await paymentWithId(path, id)).header)).status).toBe(200);
    const second = await paymentWithId(path, id);
    const conflict = await send(path, second.header);
    expect(conflict.status).toBe(409);
    expect(await errorOf(conflict)).toBe("payment_conflict");
    // At most the verify that runs beside the claim (it moves no money); never a settle.
    const ops = (await facilitatorCalls(second.nonce)).map((c) => c.op);
    expect(ops.filter((op) => op !== "verify")).toEqual([]);
  });

  it("should refuse a malformed id, and a missing one where the rule requires it", async () => {
    const path = `/api/${unique()}`;
    const short = await paymentWithId(path, "too-short");
    const bad = await send(path, short.header);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("16 to 128");

    await putTable({
      rules: [{ path: "/api/*", price: "$0.001", paymentIdentifier: "required" }],
    });
    const strict = await challengeFor(path);
    const declared = decodeHeader<{ extensions: Record<string, { info: unknown }> }>(
      strict.headers.get("PAYMENT-REQUIRED"),
    );
    expect(declared.extensions["payment-identifier"]?.info).toEqual({ required: true });
    const missing = await send(path, paymentFor(strict).header);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { message: string }).message).toContain("requires a");
    expect(await originSaw(path)).toBe(0);
  });
});

describe("settlements with an unknown outcome", () => {
  it("should record a timed-out settlement as pending and resolve it from the chain on the next copy", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const first = await send(path, header, "settle-lost-once");
    expect(first.status).toBe(503);
    expect(await errorOf(first)).toBe("payment_pending");
    const resolved = await send(path, header, "settle-lost-once");
    expect(resolved.status).toBe(200);
    const receipt = decodeHeader(resolved.headers.get("PAYMENT-RESPONSE"));
    // The receipt names the transaction the chain shows, never an empty one.
    expect(receipt).toMatchObject({ success: true, transaction: `0x${nonce.slice(2)}` });
    // One verify, one settle: the chain, not a second settle, showed the first went through.
    expect((await facilitatorCalls(nonce)).map((c) => c.op)).toEqual(["verify", "settle"]);
    const later = await send(path, header, "settle-lost-once");
    expect(await errorOf(later)).toBe("payment_already_settled");
  });

  it("should keep a pending payment pending when its retry is refused for another reason, never asking to pay again (regression)", async () => {
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const first = await send(path, header, "settle-lost-then-expired");
    expect(await errorOf(first)).toBe("payment_pending");
    const retry = await send(path, header, "settle-lost-then-expired");
    expect(retry.status).toBe(503);
    expect(await errorOf(retry)).toBe("payment_pending");
    expect(retry.headers.get("PAYMENT-REQUIRED")).toBeNull();
  });

  it("should settle a pending payment that had not gone through, once", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const first = await send(path, header, "settle-500-once");
    expect(first.status).toBe(502);
    expect(await errorOf(first)).toBe("payment_pending");
    const resolved = await send(path, header, "settle-500-once");
    expect(resolved.status).toBe(200);
    expect(decodeHeader(resolved.headers.get("PAYMENT-RESPONSE"))["transaction"]).toMatch(
      /^0x[0-9a-f]{64}$/,
    );
    expect((await facilitatorCalls(nonce)).map((c) => c.op)).toEqual([
      "verify",
      "settle",
      "settle",
    ]);
  });
});
