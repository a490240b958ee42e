import { describe, expect, it } from "vitest";
import { PERMIT2, TRANSFER_TOPIC, proveTransfer, transferFacts } from "../../../src/chain/index.ts";
import type { Rpc, TransferFacts } from "../../../src/chain/index.ts";
import { UPTO_PROXY } from "../../../src/schemes/upto-evm.ts";
import { fakeChain, hex } from "./fake-chain.ts";
import type { FakeChainSetup, FakeLog } from "./fake-chain.ts";

/**
 * The chain proof of a pending `upto` payment (a Permit2 permit), against a fake node: the
 * permit's nonce bit in Permit2's `nonceBitmap`, then the token's Transfer payer → payTo whose
 * transaction carries the permit's nonce and payer.
 */

const ASSET = "0x036cbd53842c5426634e7929541ec2318f3dcf7e";
const PAYER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const PAY_TO = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const FACILITATOR = "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65";
const TX = `0x${"cd".repeat(32)}`;
const OTHER_TX = `0x${"12".repeat(32)}`;
const NOW = Math.floor(Date.now() / 1000);
/** Word 1, bit 5 of the payer's nonce bitmap. */
const NONCE = 261n;

const w = (value: string | bigint) =>
  typeof value === "bigint"
    ? value.toString(16).padStart(64, "0")
    : value.slice(2).toLowerCase().padStart(64, "0");

/** The call data of the upto proxy's `settle(permit, amount, owner, witness, signature)`. */
function settleInput(nonce: bigint, amount: bigint, owner = PAYER): string {
  return `0x12345678${[
    w(ASSET),
    w(10_000n),
    w(nonce),
    w(BigInt(NOW + 600)),
    w(amount),
    w(owner),
    w(PAY_TO),
    w(FACILITATOR),
    w(BigInt(NOW - 1000)),
  ].join("")}`;
}

function transfer(block: number, amount: bigint, tx = TX): FakeLog {
  return {
    address: ASSET,
    topics: [TRANSFER_TOPIC, `0x${w(PAYER)}`, `0x${w(PAY_TO)}`],
    data: `0x${w(amount)}`,
    logIndex: hex(0),
    transactionHash: tx,
    blockNumber: hex(block),
  };
}

const FACTS: TransferFacts = {
  asset: ASSET,
  payer: PAYER,
  payTo: PAY_TO,
  amount: "10000",
  nonce: `0x${w(NONCE)}`,
  validBefore: NOW + 600,
  // Before block 0 (2 s blocks ending now): the search covers every block that could hold it.
  validAfter: NOW - 1000,
  permit2: { charged: "700" },
};

function chain(setup: Partial<FakeChainSetup>) {
  return fakeChain({ head: 100, usedAt: 95, bitmap: 1n << 5n, ...setup });
}

describe("provePermit2", () => {
  it("should prove an upto payment whose permit's nonce is used by a transfer payer → payTo of the charged amount", async () => {
    const node = chain({
      logs: [transfer(96, 700n)],
      transactions: { [TX]: { input: settleInput(NONCE, 700n) } },
    });
    expect(await proveTransfer(node, FACTS)).toEqual({ type: "paid", transaction: TX });
    const call = node.calls.find((c) => c.method === "eth_call")!;
    expect(call.params).toEqual([{ to: PERMIT2, data: `0x4fe02b44${w(PAYER)}${w(1n)}` }, hex(100)]);
  });

  it("should accept any amount up to the maximum when the charged amount is unknown", async () => {
    const node = chain({
      logs: [transfer(96, 10_001n, OTHER_TX), transfer(96, 9_999n)],
      transactions: {
        [TX]: { input: settleInput(NONCE, 9_999n) },
        [OTHER_TX]: { input: settleInput(NONCE, 10_001n) },
      },
    });
    expect(await proveTransfer(node, { ...FACTS, permit2: {} })).toEqual({
      type: "paid",
      transaction: TX,
    });
  });

  it("should release a permit past its deadline whose nonce was never used", async () => {
    const node = chain({ usedAt: undefined });
    const proof = await proveTransfer(node, { ...FACTS, validBefore: NOW - 10 });
    expect(proof).toMatchObject({ type: "unpaid", why: "expired" });
    expect(node.calls.some((c) => c.method === "eth_getLogs")).toBe(false);
  });

  it("should know nothing yet of an unused permit still valid, even with the word's other bits set", async () => {
    const node = chain({ bitmap: ~(1n << 5n) & ((1n << 256n) - 1n) });
    expect(await proveTransfer(node, FACTS)).toMatchObject({ type: "unknown", unused: true });
  });

  it("should refuse a permit whose nonce was used without this transfer", async () => {
    const node = chain({ logs: [] });
    expect(await proveTransfer(node, FACTS)).toMatchObject({
      type: "unpaid",
      why: "diverted",
      reason: expect.stringContaining("the permit's nonce was used without this transfer"),
    });
  });

  it("should not take a same-amount transfer in a transaction without the permit's nonce as proof", async () => {
    const node = chain({
      logs: [transfer(96, 700n)],
      // Another permit of the same payer settled the same amount.
      transactions: { [TX]: { input: settleInput(NONCE + 1n, 700n) } },
    });
    expect(await proveTransfer(node, FACTS)).toMatchObject({ type: "unpaid", why: "diverted" });
  });

  it("should not take a transaction holding the nonce but not the payer as proof", async () => {
    const node = chain({
      logs: [transfer(96, 700n)],
      transactions: { [TX]: { input: settleInput(NONCE, 700n, FACILITATOR) } },
    });
    expect(await proveTransfer(node, FACTS)).toMatchObject({ type: "unpaid", why: "diverted" });
  });

  it("should not take a transfer of another amount than the one charged", async () => {
    const node = chain({
      logs: [transfer(96, 10_000n)],
      transactions: { [TX]: { input: settleInput(NONCE, 10_000n) } },
    });
    expect(await proveTransfer(node, FACTS)).toMatchObject({ type: "unpaid", why: "diverted" });
  });

  it("should find the permit's transfer among older transfers of the same payer when the node limits ranges", async () => {
    const node = chain({
      rangeLimit: 10,
      logs: [transfer(20, 700n), transfer(96, 700n, OTHER_TX)],
      transactions: {
        [TX]: { input: settleInput(NONCE, 700n) },
        [OTHER_TX]: { input: settleInput(NONCE + 7n, 700n) },
      },
    });
    expect(await proveTransfer(node, FACTS)).toEqual({ type: "paid", transaction: TX });
  });

  it("should know nothing when the search does not cover the blocks that could hold the transfer", async () => {
    const node = chain({ logs: [transfer(20, 700n)] });
    const facts = { ...FACTS, validAfter: undefined };
    expect(await proveTransfer(node, facts, { maxLogBlocks: 10 })).toMatchObject({
      type: "unknown",
    });
  });

  it("should know nothing, never throw, on garbage from the node", async () => {
    const garbage: unknown[] = [null, 42, "0x", { input: 7 }, { input: "0xzz" }, [], "nonsense"];
    for (const answer of garbage) {
      const node = chain({
        logs: [transfer(96, 700n)],
        transactions: { [TX]: answer },
      });
      const proof = await proveTransfer(node, FACTS);
      expect(proof.type === "unknown" || proof.type === "unpaid").toBe(true);
      expect(proof.type).not.toBe("paid");
    }
    for (const method of ["eth_call", "eth_getLogs", "eth_getBlockByNumber"]) {
      for (const answer of [null, "0x", 42, { nonsense: true }, [{ address: 1 }]]) {
        const base = chain({
          logs: [transfer(96, 700n)],
          transactions: { [TX]: { input: settleInput(NONCE, 700n) } },
        });
        const node: Rpc = async (m, params) =>
          m === method ? { ok: true, result: answer } : base(m, params);
        expect(await proveTransfer(node, FACTS)).toMatchObject({ type: "unknown" });
      }
    }
  });

  it("should know nothing when the candidate transaction cannot be read", async () => {
    const node = chain({ logs: [transfer(96, 700n)], transactions: {} });
    expect(await proveTransfer(node, FACTS)).toMatchObject({ type: "unknown" });
  });
});

describe("transferFacts of an upto payment", () => {
  const payload = {
    x402Version: 2,
    payload: {
      signature: "0x",
      permit2Authorization: {
        from: PAYER,
        permitted: { token: ASSET, amount: "10000" },
        spender: UPTO_PROXY,
        nonce: NONCE.toString(),
        deadline: String(NOW + 600),
        witness: { to: PAY_TO, facilitator: FACILITATOR, validAfter: String(NOW - 1000) },
      },
    },
  };
  const terms = { scheme: "upto", network: "eip155:84532", asset: ASSET };

  it("should read a Permit2 permit with the amount its settlement asked for", () => {
    expect(transferFacts(terms, payload, "700")).toEqual({ ok: true, facts: FACTS });
    expect(transferFacts(terms, payload)).toEqual({ ok: true, facts: { ...FACTS, permit2: {} } });
  });

  it("should read no facts from a permit of another token or with no nonce", () => {
    const other = structuredClone(payload);
    other.payload.permit2Authorization.permitted.token = PAY_TO;
    expect(transferFacts(terms, other).ok).toBe(false);
    const big = structuredClone(payload);
    big.payload.permit2Authorization.nonce = (1n << 256n).toString();
    expect(transferFacts(terms, big).ok).toBe(false);
  });
});
