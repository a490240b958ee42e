import { describe, expect, it } from "vitest";
import {
  AUTHORIZATION_CANCELED_TOPIC,
  AUTHORIZATION_USED_TOPIC,
  TRANSFER_TOPIC,
  proveTransfer,
} from "../../src/chain/index.ts";
import type { Rpc, TransferFacts } from "../../src/chain/index.ts";

/**
 * The chain proof against a faulty JSON-RPC node: one that answers garbage, and one that
 * ignores the topic filter of eth_getLogs (answers every log of the token). Neither may throw
 * (the proof "never throws"), and neither may turn a payment that paid into a refused one.
 */

const ASSET = "0x036cbd53842c5426634e7929541ec2318f3dcf7e";
const PAYER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const OTHER = "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65";
const PAY_TO = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const NONCE = `0x${"ab".repeat(32)}`;
const OTHER_NONCE = `0x${"ef".repeat(32)}`;
const TX = `0x${"cd".repeat(32)}`;
const OTHER_TX = `0x${"12".repeat(32)}`;
const NOW = Math.floor(Date.now() / 1000);

const FACTS: TransferFacts = {
  asset: ASSET,
  payer: PAYER,
  payTo: PAY_TO,
  amount: "1000",
  nonce: NONCE,
  validBefore: NOW + 600,
};
const word = (address: string) => `0x${address.slice(2).padStart(64, "0")}`;

/** A node whose every answer is `result` for eth_getLogs, and sane for the rest. */
function answering(logs: unknown, receipts: Record<string, unknown> = {}): Rpc {
  return async (method, params) => {
    if (method === "eth_getLogs") return { ok: true, result: logs };
    if (method === "eth_getTransactionReceipt") {
      return { ok: true, result: receipts[String(params[0])] ?? null };
    }
    if (method === "eth_call") return { ok: true, result: `0x${"0".repeat(63)}1` };
    if (method === "eth_getBlockByNumber") return { ok: true, result: { timestamp: "0x1" } };
    return { ok: false, reason: "no such method" };
  };
}

describe("the chain proof against a faulty RPC node", () => {
  it.each<[string, unknown]>([
    ["a null log", [null]],
    ["a log without topics", [{ address: ASSET, logIndex: "0x0", transactionHash: TX }]],
    ["a log whose topics are numbers", [{ address: ASSET, topics: [1, 2, 3], logIndex: "0x0" }]],
  ])("should answer unknown, never throw, when eth_getLogs answers %s", async (_name, logs) => {
    await expect(proveTransfer(answering(logs), FACTS)).resolves.toMatchObject({
      type: "unknown",
    });
  });

  it("should answer unknown, never throw, when a known transaction's receipt holds garbage logs", async () => {
    const rpc = answering([], { [TX]: { status: "0x1", logs: [null, { topics: "x" }] } });
    await expect(proveTransfer(rpc, { ...FACTS, transaction: TX })).resolves.toMatchObject({
      type: "unknown",
    });
  });

  it("should not refuse a paid payment as cancelled when the node answers another payer's AuthorizationCanceled (an RPC that ignores the topic filter)", async () => {
    // The payment paid in TX; the node also returns a cancellation of someone else's nonce.
    const logs = [
      {
        address: ASSET,
        topics: [AUTHORIZATION_CANCELED_TOPIC, word(OTHER), OTHER_NONCE],
        data: "0x",
        logIndex: "0x0",
        transactionHash: OTHER_TX,
      },
      {
        address: ASSET,
        topics: [AUTHORIZATION_USED_TOPIC, word(PAYER), NONCE],
        data: "0x",
        logIndex: "0x3",
        transactionHash: TX,
      },
    ];
    const receipts = {
      [TX]: {
        status: "0x1",
        logs: [
          logs[1],
          {
            address: ASSET,
            topics: [TRANSFER_TOPIC, word(PAYER), word(PAY_TO)],
            data: `0x${(1000).toString(16).padStart(64, "0")}`,
            logIndex: "0x4",
            transactionHash: TX,
          },
        ],
      },
    };
    const proof = await proveTransfer(answering(logs, receipts), FACTS);
    expect(proof).toEqual({ type: "paid", transaction: TX });
  });

  it("should not refuse a payment as diverted on the strength of another nonce's AuthorizationUsed log (an RPC that ignores the topic filter)", async () => {
    // Another payment's authorization (another nonce), which paid someone else, comes first.
    const logs = [
      {
        address: ASSET,
        topics: [AUTHORIZATION_USED_TOPIC, word(OTHER), OTHER_NONCE],
        data: "0x",
        logIndex: "0x0",
        transactionHash: OTHER_TX,
      },
    ];
    const receipts = {
      [OTHER_TX]: {
        status: "0x1",
        logs: [
          logs[0],
          {
            address: ASSET,
            topics: [TRANSFER_TOPIC, word(OTHER), word(OTHER)],
            data: `0x${(5).toString(16).padStart(64, "0")}`,
            logIndex: "0x1",
            transactionHash: OTHER_TX,
          },
        ],
      },
    };
    const proof = await proveTransfer(answering(logs, receipts), FACTS);
    expect(proof.type).not.toBe("unpaid");
  });
});

describe("the chain proof and blocks mined while it reads", () => {
  it("should not call a payment expired unused when its transfer was mined between reading its state and reading the latest block", async () => {
    // Rule: no lost payment. The proof reads logs and authorizationState at "latest", then the
    // latest block's time, each at whatever block is latest then. The settlement lands in the
    // last block before validBefore, between the state read and the block read.
    const validBefore = NOW + 10;
    let mined = false;
    const rpc: Rpc = async (method) => {
      if (method === "eth_getLogs") return { ok: true, result: [] };
      if (method === "eth_call") {
        const answer = { ok: true as const, result: `0x${"0".repeat(64)}` };
        mined = true; // block N+1 (time < validBefore) takes the transfer, N+2 follows
        return answer;
      }
      if (method === "eth_getBlockByNumber") {
        return {
          ok: true,
          result: { timestamp: `0x${(validBefore + (mined ? 2 : -5)).toString(16)}` },
        };
      }
      return { ok: true, result: null };
    };
    const proof = await proveTransfer(rpc, { ...FACTS, validBefore });
    expect(proof).not.toMatchObject({ type: "unpaid", why: "expired" });
  });
});
