import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createPublicClient, createWalletClient, http, parseSignature } from "viem";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PAYER, localChain } from "../../dev/chain.ts";
import { receiptOf } from "../../dev/clients.ts";
import { DEV_SECRETS } from "../../dev/stack.ts";
import { USDC_ADDRESS } from "../../dev/usdc.ts";
import { startFaultProxy } from "./fault-proxy.ts";
import type { Fault } from "./fault-proxy.ts";
import { balances, capturePayment, useStack } from "./stack.ts";

/**
 * Pending payments on the real stack (anvil + Circle's USDC + the official facilitator behind two
 * fault proxies + `wrangler dev` with CHAIN_RPC_URLS set to anvil): a settlement whose answer
 * was lost is resolved from the chain, never from a facilitator's word; a payer who spends the
 * nonce on chain (USDC's cancelAuthorization) before the lost settle lands is never served; a
 * settle that fails on the first facilitator is not failed over; the operator lists pending
 * payments with their age and checks them against the chain.
 */

const API_PRICE = 1000n; // "$0.001" in dev/prices.json
const first = await startFaultProxy();
const second = await startFaultProxy();
const stack = useStack({
  vars: { FACILITATOR_TIMEOUT_MS: "1500", PRICE_TABLE_TTL_SECONDS: "1" },
  facilitatorFor: async (url) => {
    first.retarget(url);
    second.retarget(url);
    return `${first.url},${second.url}`;
  },
});

afterEach(() => {
  for (const proxy of [first, second]) {
    proxy.faultFor = () => "pass";
    proxy.delayMs = 3000;
  }
});
afterAll(async () => {
  await Promise.all([first.stop(), second.stop()]);
});

const url = (path: string) => `${stack.get().workerUrl}${path}`;
const pay = (path: string, header: string) =>
  fetch(url(path), { headers: { "PAYMENT-SIGNATURE": header } });
const errorOf = async (response: Response) =>
  ((await response.clone().json()) as { error: string }).error;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Faults of the first facilitator's proxy per operation. */
function firstFacilitator(faults: Partial<Record<string, Fault>>): void {
  first.faultFor = (path) => faults[path.split("/").pop() ?? ""] ?? "pass";
}

async function signed(path: string): Promise<{ header: string; nonce: Hex }> {
  const header = await capturePayment(url(path), { key: PAYER.privateKey });
  expect(header).toBeTruthy();
  const payload = JSON.parse(atob(header!)) as {
    payload: { authorization: { nonce: Hex } };
  };
  return { header: header!, nonce: payload.payload.authorization.nonce };
}

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url(`/__x402/admin${path}`), {
    ...init,
    headers: { Authorization: `Bearer ${DEV_SECRETS.ADMIN_TOKEN}` },
  });
}

async function receiptsFor(nonce: string): Promise<unknown[]> {
  const listed = (await (await admin(`/receipts?payer=${PAYER.address.toLowerCase()}`)).json()) as {
    receipts: Array<{ nonce: string | null }>;
  };
  return listed.receipts.filter((r) => r.nonce === nonce.toLowerCase());
}

/** The payer cancels its own authorization on chain (USDC's EIP-3009 cancelAuthorization). */
async function cancelOnChain(nonce: Hex): Promise<void> {
  const account = privateKeyToAccount(PAYER.privateKey);
  const chain = localChain(stack.get().rpcUrl);
  const signature = await account.signTypedData({
    domain: { name: "USDC", version: "2", chainId: chain.id, verifyingContract: USDC_ADDRESS },
    types: {
      CancelAuthorization: [
        { name: "authorizer", type: "address" },
        { name: "nonce", type: "bytes32" },
      ],
    },
    primaryType: "CancelAuthorization",
    message: { authorizer: account.address, nonce },
  });
  const { v, r, s } = parseSignature(signature);
  const wallet = createWalletClient({ account, chain, transport: http(stack.get().rpcUrl) });
  const hash = await wallet.writeContract({
    address: USDC_ADDRESS,
    abi: [
      {
        type: "function",
        name: "cancelAuthorization",
        stateMutability: "nonpayable",
        inputs: [
          { name: "authorizer", type: "address" },
          { name: "nonce", type: "bytes32" },
          { name: "v", type: "uint8" },
          { name: "r", type: "bytes32" },
          { name: "s", type: "bytes32" },
        ],
        outputs: [],
      },
    ],
    functionName: "cancelAuthorization",
    args: [account.address, nonce, Number(v), r, s],
  });
  const client = createPublicClient({ chain, transport: http(stack.get().rpcUrl) });
  const mined = await client.waitForTransactionReceipt({ hash });
  expect(mined.status).toBe("success");
}

async function transactionStatus(hash: string): Promise<string> {
  const client = createPublicClient({
    chain: localChain(stack.get().rpcUrl),
    transport: http(stack.get().rpcUrl),
  });
  return (await client.getTransactionReceipt({ hash: hash as Hex })).status;
}

describe("pending payments resolved from the chain", () => {
  it("should serve a copy of a payment whose settle answer was lost, with the real transaction, charging once", async () => {
    const before = await balances(stack.get());
    const path = "/api/pending-late";
    const { header } = await signed(path);
    first.delayMs = 2500;
    firstFacilitator({ settle: "late" });
    const lost = await pay(path, header);
    expect(lost.status).toBe(503);
    expect(await errorOf(lost)).toBe("payment_pending");
    await sleep(2000);
    const copy = await pay(path, header);
    expect(copy.status).toBe(200);
    expect(await copy.json()).toMatchObject({ paid: true });
    const receipt = receiptOf(copy) as { transaction: string };
    expect(receipt.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await transactionStatus(receipt.transaction)).toBe("success");
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(API_PRICE);
    expect(after.payTo - before.payTo).toBe(API_PRICE);
    // Only the lost settle went to a facilitator; the second was never asked to settle.
    expect(second.received.filter((p) => p.endsWith("/settle"))).toEqual([]);
  });

  it("should never serve a pending payment whose authorization the payer cancelled on chain before the lost settle landed, and write no receipt", async () => {
    const before = await balances(stack.get());
    const path = "/api/pending-cancelled";
    const { header, nonce } = await signed(path);
    // The settle is dropped by the proxy (never reaches the facilitator): its outcome is unknown.
    first.delayMs = 2000;
    firstFacilitator({ settle: "slow" });
    const lost = await pay(path, header);
    expect(await errorOf(lost)).toBe("payment_pending");
    await cancelOnChain(nonce);
    first.faultFor = () => "pass";
    for (let i = 0; i < 2; i++) {
      const copy = await pay(path, header);
      expect(copy.status).toBe(402);
      expect(copy.headers.get("PAYMENT-RESPONSE")).toBeNull();
      const required = JSON.parse(atob(copy.headers.get("PAYMENT-REQUIRED")!)) as {
        error: string;
      };
      expect(required.error).toMatch(/cancelled/);
    }
    expect(stack.get().originHits(path)).toBe(1);
    expect(await balances(stack.get())).toEqual(before);
    expect(await receiptsFor(nonce)).toEqual([]);
  });

  it("should not fail a settle that answered 5xx over to the second facilitator: pending, then resolved, paid once", async () => {
    const before = await balances(stack.get());
    const path = "/api/pending-5xx";
    const { header } = await signed(path);
    firstFacilitator({ settle: "error500" });
    const seen = second.received.length;
    const failed = await pay(path, header);
    expect(failed.status).toBe(502);
    expect(await errorOf(failed)).toBe("payment_pending");
    expect(second.received.slice(seen).filter((p) => p.endsWith("/settle"))).toEqual([]);
    first.faultFor = () => "pass";
    const copy = await pay(path, header);
    expect(copy.status).toBe(200);
    expect((receiptOf(copy) as { transaction: string }).transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await pay(path, header)).status).toBeGreaterThanOrEqual(400);
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(API_PRICE);
    expect(after.payTo - before.payTo).toBe(API_PRICE);
  });

  it("should list a pending payment with its age in the admin API and resolve it on check", async () => {
    const path = "/api/pending-admin";
    const { header, nonce } = await signed(path);
    first.delayMs = 2500;
    firstFacilitator({ settle: "late" });
    expect(await errorOf(await pay(path, header))).toBe("payment_pending");
    await sleep(1500);
    const listed = (await (await admin("/payments/pending")).json()) as {
      pending: Array<{ payer: string; key: string; nonce: string; ageSeconds: number }>;
    };
    const entry = listed.pending.find((p) => p.nonce === nonce.toLowerCase());
    expect(entry).toBeDefined();
    expect(entry!.ageSeconds).toBeGreaterThanOrEqual(1);
    const checked = await admin(
      `/payments/pending/${entry!.payer}/${encodeURIComponent(entry!.key)}/check`,
      { method: "POST" },
    );
    expect(checked.status).toBe(200);
    const outcome = (await checked.json()) as { outcome: string; transaction: string };
    expect(outcome.outcome).toBe("paid");
    expect(await transactionStatus(outcome.transaction)).toBe("success");
    // The payer's next copy is served with that transaction.
    first.faultFor = () => "pass";
    const copy = await pay(path, header);
    expect(copy.status).toBe(200);
    expect((receiptOf(copy) as { transaction: string }).transaction).toBe(outcome.transaction);
    const after = (await (await admin("/payments/pending")).json()) as {
      pending: Array<{ nonce: string }>;
    };
    expect(after.pending.find((p) => p.nonce === nonce.toLowerCase())).toBeUndefined();
  });
});
