import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { auditLedger } from "../../dev/audit.ts";
import { PAYER } from "../../dev/chain.ts";
import { receiptOf } from "../../dev/clients.ts";
import { DEV_SECRETS } from "../../dev/stack.ts";
import { USDC_ADDRESS } from "../../dev/usdc.ts";
import { seedPriceTable } from "../../dev/worker.ts";
import { tally } from "../support/tally.ts";
import { startFaultProxy } from "./fault-proxy.ts";
import type { Fault } from "./fault-proxy.ts";
import { balances, capturePayment, useStack } from "./stack.ts";

/**
 * Fault injection on the real stack (anvil + Circle's USDC + the official facilitator + the demo
 * origin + `wrangler dev`): two fault proxies stand in for two facilitators (FACILITATOR_URLS
 * lists both, in order), a third sits in front of the origin. Each fault is judged by the chain:
 * the client gets a clear status, nothing is served unpaid, nothing is charged without content,
 * nothing settles twice; and at the end the receipts ledger (when the Worker has one) agrees
 * with the transfers on chain. Signatures only a real facilitator can refuse (expired, another
 * key, another chain) are here too, as the end of the hostile-input catalogue.
 */

const API_PRICE = 1000n; // "$0.001" in dev/prices.json
const TIMEOUT_MS = 1500;

const first = await startFaultProxy();
const second = await startFaultProxy();
const origin = await startFaultProxy();
const stack = useStack({
  vars: { FACILITATOR_TIMEOUT_MS: String(TIMEOUT_MS), PRICE_TABLE_TTL_SECONDS: "1" },
  facilitatorFor: async (url) => {
    first.retarget(url);
    second.retarget(url);
    return `${first.url},${second.url}`;
  },
  originFor: async (url) => {
    origin.retarget(url);
    return origin.url;
  },
});

const faults = tally("faults (real stack)");
const hostile = tally("hostile input (real facilitator)");

afterEach(() => {
  for (const proxy of [first, second, origin]) proxy.faultFor = () => "pass";
});
afterAll(async () => {
  faults.report();
  hostile.report();
  await Promise.all([first.stop(), second.stop(), origin.stop()]);
});

const url = (path: string) => `${stack.get().workerUrl}${path}`;

/** Sets the facilitator proxies' faults per operation (`verify`, `settle`). */
function facilitators(one: Partial<Record<string, Fault>>, two: Partial<Record<string, Fault>>) {
  const op = (path: string) => path.split("/").pop() ?? "";
  first.faultFor = (path) => one[op(path)] ?? "pass";
  second.faultFor = (path) => two[op(path)] ?? "pass";
}

/** A real signed payment for `path` by the official client, captured before it is sent. */
async function signedPayment(path: string, paymentId?: string): Promise<string> {
  const header = await capturePayment(url(path), { key: PAYER.privateKey, paymentId });
  expect(header).toBeTruthy();
  return header!;
}

const pay = (path: string, header: string, init: RequestInit = {}) =>
  fetch(url(path), { ...init, headers: { "PAYMENT-SIGNATURE": header } });

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

/** Runs one fault case and checks the chain moved by exactly `charged` (0 or the price). */
async function fault(charged: bigint, work: () => Promise<void>): Promise<void> {
  await faults.run(async () => {
    const before = await balances(stack.get());
    await work();
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(charged);
    expect(after.payTo - before.payTo).toBe(charged);
  });
}

describe("facilitator faults", () => {
  it.each<[string, Fault, number, string]>([
    ["down", "refuse", 503, "facilitator_unavailable"],
    ["slower than the timeout", "slow", 503, "facilitator_unavailable"],
    ["answering 500", "error500", 502, "facilitator_unavailable"],
    ["answering garbage", "garbage", 502, "facilitator_unavailable"],
  ])(
    "should answer a verify with every facilitator %s clearly, serve nothing and charge nothing",
    async (_name, kind, status, error) => {
      await fault(API_PRICE, async () => {
        const path = `/api/verify-${kind}`;
        const header = await signedPayment(path);
        const before = await balances(stack.get());
        facilitators({ verify: kind }, { verify: kind });
        const response = await pay(path, header);
        expect(response.status).toBe(status);
        expect(await errorOf(response)).toBe(error);
        expect(stack.get().originHits(path)).toBe(0);
        expect(await balances(stack.get())).toEqual(before);
        // Once the facilitators are back, the same payment goes through, once.
        facilitators({}, {});
        expect((await pay(path, header)).status).toBe(200);
        expect(stack.get().originHits(path)).toBe(1);
      });
    },
  );

  it.each<[string, Fault]>([
    ["down (connection reset)", "refuse"],
    ["answering 500", "error500"],
    ["slower than the timeout", "slow"],
    ["answering garbage", "garbage"],
  ])(
    "should fail a verify over to the second facilitator when the first is %s and settle once where it was verified, never at the first (regression: the settle went to the first and the payment was left pending)",
    async (_name, kind) => {
      await fault(API_PRICE, async () => {
        const path = `/api/failover-${kind}`;
        const header = await signedPayment(path);
        facilitators({ verify: kind, settle: kind }, {});
        const firstBefore = first.received.length;
        const seenBefore = second.received.length;
        const response = await pay(path, header);
        expect(response.status).toBe(200);
        expect(receiptOf(response)).toMatchObject({ success: true });
        // The second verified and settled it; the first, down, was never sent the settle.
        expect(second.received.slice(seenBefore).filter((p) => /verify|settle/.test(p))).toEqual([
          "/verify",
          "/settle",
        ]);
        expect(first.received.slice(firstBefore).filter((p) => /settle/.test(p))).toEqual([]);
        // A copy gets the receipt; nothing settles again (the chain moved once: see `fault`).
        facilitators({}, {});
        const copy = await pay(path, header);
        expect(copy.status).toBe(409);
        expect(receiptOf(copy)).toMatchObject({ success: true });
      });
    },
  );

  it("should not fail a settlement over when only the first facilitator's settle fails; its copy settles once", async () => {
    await fault(API_PRICE, async () => {
      const path = "/api/failover-settle";
      const header = await signedPayment(path);
      facilitators({ settle: "error500" }, {});
      const seenBefore = second.received.length;
      const response = await pay(path, header);
      expect(response.status).toBe(502);
      expect(await errorOf(response)).toBe("payment_pending");
      expect(second.received.slice(seenBefore).filter((p) => /settle/.test(p))).toEqual([]);
      facilitators({}, {});
      const copy = await pay(path, header);
      expect(copy.status).toBe(200);
      expect(await copy.json()).toMatchObject({ paid: true });
    });
  });

  it("should withhold the content when verify passes but every settle fails, and settle once on the retry", async () => {
    await fault(API_PRICE, async () => {
      const path = "/api/settle-fails";
      const header = await signedPayment(path);
      facilitators({ settle: "error500" }, { settle: "error500" });
      const failed = await pay(path, header);
      expect(failed.status).toBe(502);
      const body = await failed.text();
      expect(body).toContain("payment_pending");
      expect(body).not.toContain('"paid":true');
      facilitators({}, {});
      const retry = await pay(path, header);
      expect(retry.status).toBe(200);
      expect(await pay(path, header).then((r) => r.status)).toBe(409);
    });
  });

  it("should record a settle that times out as pending, charge once, and resolve it on the retry", async () => {
    await fault(API_PRICE, async () => {
      const path = "/api/settle-late";
      const header = await signedPayment(path);
      first.delayMs = 2500;
      second.delayMs = 2500;
      facilitators({ settle: "late" }, { settle: "late" });
      const lost = await pay(path, header);
      expect(lost.status).toBe(503);
      expect(await errorOf(lost)).toBe("payment_pending");
      await new Promise((r) => setTimeout(r, 3000));
      facilitators({}, {});
      const retry = await pay(path, header);
      expect(retry.status).toBe(200);
      expect(receiptOf(retry)).toMatchObject({ success: true });
      first.delayMs = 3000;
      second.delayMs = 3000;
    });
  });
});

describe("origin faults", () => {
  it.each<[string, Fault, number, string]>([
    ["down", "refuse", 502, "origin_unreachable"],
    ["answering 500", "error500", 500, ""],
  ])("should charge nothing when the origin is %s", async (_name, kind, status, error) => {
    await fault(0n, async () => {
      const path = `/api/origin-${kind}`;
      const header = await signedPayment(path);
      origin.faultFor = (p) => (p.startsWith(path) ? kind : "pass");
      const response = await pay(path, header);
      expect(response.status).toBe(status);
      if (error) expect(await errorOf(response)).toBe(error);
      expect(receiptOf(response)).toBeUndefined();
    });
  });

  it("should let the same payment through, once, after the origin comes back", async () => {
    await fault(API_PRICE, async () => {
      const path = "/api/origin-back";
      const header = await signedPayment(path);
      origin.faultFor = (p) => (p.startsWith(path) ? "refuse" : "pass");
      expect((await pay(path, header)).status).toBe(502);
      origin.faultFor = () => "pass";
      expect((await pay(path, header)).status).toBe(200);
    });
  });

  it("should serve a slow origin's answer and charge once", async () => {
    await fault(API_PRICE, async () => {
      const path = "/api/origin-slow";
      const header = await signedPayment(path);
      origin.delayMs = 2000;
      origin.faultFor = (p) => (p.startsWith(path) ? "late" : "pass");
      const response = await pay(path, header);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ paid: true });
    });
  });

  it("should charge once for a body the origin cut off, and give it again to a retry with the same payment id", async () => {
    // Settlement happens once the origin's status and headers are in, before its body streams:
    // an origin that dies mid-body has been paid for. The payment-identifier retry is the remedy.
    await fault(API_PRICE, async () => {
      const path = "/api/origin-cut";
      const id = `pay_${crypto.randomUUID().replace(/-/g, "")}`;
      const header = await signedPayment(path, id);
      origin.faultFor = (p) => (p.startsWith(path) ? "reset-mid-body" : "pass");
      const cut = await pay(path, header);
      expect(cut.status).toBe(200);
      expect(receiptOf(cut)).toMatchObject({ success: true });
      const text = await cut.text().catch(() => "");
      expect(() => JSON.parse(text)).toThrow();
      origin.faultFor = () => "pass";
      const again = await pay(path, header);
      expect(again.status).toBe(200);
      expect(receiptOf(again)).toEqual(receiptOf(cut));
      expect(await again.json()).toMatchObject({ paid: true });
    });
  });
});

describe("storage faults", () => {
  it("should keep serving the last good price table when KV holds an invalid one, and never let a priced request through", async () => {
    await fault(0n, async () => {
      const file = join(stack.stateDir(), "broken-prices.json");
      writeFileSync(file, '{"version": "broken", "rules": [ { "path": "/api/*", "price": "free" ');
      await seedPriceTable(stack.stateDir(), file);
      await new Promise((r) => setTimeout(r, 1500));
      const priced = await fetch(url("/api/after-broken-table"));
      expect(priced.status).toBe(402);
      const health = await fetch(url("/__x402/health"));
      expect(JSON.stringify(await health.json())).not.toContain('"broken"');
      expect(stack.get().originHits("/api/after-broken-table")).toBe(0);
    });
  });
});

describe("payments only a real facilitator can refuse", () => {
  /** An EIP-3009 authorization for `path`'s offer, signed as the test chooses. */
  async function forged(
    path: string,
    options: {
      key?: Hex;
      from?: string;
      chainId?: number;
      verifyingContract?: string;
      validAfter?: number;
      validBefore?: number;
    },
  ): Promise<string> {
    const challenge = await fetch(url(path));
    const required = JSON.parse(atob(challenge.headers.get("PAYMENT-REQUIRED")!)) as {
      resource: unknown;
      accepts: Array<{ amount: string; payTo: string }>;
    };
    const accepted = required.accepts[0]!;
    const account = privateKeyToAccount(options.key ?? PAYER.privateKey);
    const now = Math.floor(Date.now() / 1000);
    const nonce = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}`;
    const message = {
      from: (options.from ?? account.address) as Hex,
      to: accepted.payTo as Hex,
      value: BigInt(accepted.amount),
      validAfter: BigInt(options.validAfter ?? now - 60),
      validBefore: BigInt(options.validBefore ?? now + 600),
      nonce: nonce as Hex,
    };
    const signature = await account.signTypedData({
      domain: {
        name: "USDC",
        version: "2",
        chainId: options.chainId ?? 84532,
        verifyingContract: (options.verifyingContract ?? USDC_ADDRESS) as Hex,
      },
      types: {
        TransferWithAuthorization: [
          { name: "from", type: "address" },
          { name: "to", type: "address" },
          { name: "value", type: "uint256" },
          { name: "validAfter", type: "uint256" },
          { name: "validBefore", type: "uint256" },
          { name: "nonce", type: "bytes32" },
        ],
      },
      primaryType: "TransferWithAuthorization",
      message,
    });
    const payload = {
      x402Version: 2,
      resource: required.resource,
      accepted,
      payload: {
        signature,
        authorization: {
          ...message,
          value: String(message.value),
          validAfter: String(message.validAfter),
          validBefore: String(message.validBefore),
        },
      },
    };
    return btoa(JSON.stringify(payload));
  }

  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => Parameters<typeof forged>[1]]>([
    ["an expired authorization", () => ({ validAfter: now() - 600, validBefore: now() - 60 })],
    ["an authorization not valid yet", () => ({ validAfter: now() + 3600 })],
    ["a signature by another key", () => ({ key: generatePrivateKey(), from: PAYER.address })],
    ["a signature for another chain", () => ({ chainId: 8453 })],
    [
      "a signature for another token contract",
      () => ({ verifyingContract: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913" }),
    ],
    ["a payer with no USDC", () => ({ key: generatePrivateKey() })],
  ])(
    "should refuse %s with a 402 and its reason, serving and moving nothing",
    async (name, options) => {
      await hostile.run(async () => {
        const before = await balances(stack.get());
        const path = `/api/forged-${name.replace(/\W+/g, "-")}`;
        const response = await pay(path, await forged(path, options()));
        expect(response.status).toBe(402);
        const required = JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED")!)) as {
          error?: string;
        };
        expect(required.error).toMatch(/invalid|insufficient|expired|valid/i);
        expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
        expect(stack.get().originHits(path)).toBe(0);
        expect(await balances(stack.get())).toEqual(before);
      });
    },
  );
});

describe("the ledger after every fault", () => {
  it("should hold exactly one receipt per transfer on chain", async () => {
    await faults.run(async () => {
      const audit = await auditLedger({
        rpcUrl: stack.get().rpcUrl,
        workerUrl: stack.get().workerUrl,
        payTo: stack.get().payTo,
        adminToken: DEV_SECRETS.ADMIN_TOKEN,
      });
      console.log(
        `[figures] ledger audit: ${audit.transfers} transfers on chain, ` +
          `${audit.receipts ?? "no ledger:"} receipts`,
      );
      expect(audit.transfers).toBeGreaterThan(0);
      expect(audit).toMatchObject({ unrecorded: [], unmatched: [], agrees: true });
    });
  });
});
