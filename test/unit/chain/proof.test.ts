import { describe, expect, it } from "vitest";
import {
  AUTHORIZATION_CANCELED_TOPIC,
  AUTHORIZATION_USED_TOPIC,
  TRANSFER_TOPIC,
  chainProver,
  chainRpcUrls,
  jsonRpc,
  proveTransfer,
  transferFacts,
} from "../../../src/chain/index.ts";
import type { Rpc, TransferFacts } from "../../../src/chain/index.ts";

/** The chain proof of a pending payment, against a fake JSON-RPC node. */

const ASSET = "0x036cbd53842c5426634e7929541ec2318f3dcf7e";
const PAYER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const PAY_TO = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const THIEF = "0x90f79bf6eb2c4f870365e785982e1f101e93b906";
const NONCE = `0x${"ab".repeat(32)}`;
const TX = `0x${"cd".repeat(32)}`;
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
const hex = (n: number | bigint) => `0x${n.toString(16)}`;
/** The chain's latest block, which holds every log. */
const HEAD_TAG = hex(100);

function usedLog(index: number, tx = TX) {
  return {
    address: ASSET,
    topics: [AUTHORIZATION_USED_TOPIC, word(PAYER), NONCE],
    data: "0x",
    logIndex: hex(index),
    transactionHash: tx,
    blockNumber: HEAD_TAG,
  };
}
function transferLog(index: number, to = PAY_TO, amount = 1000n, tx = TX) {
  return {
    address: ASSET,
    topics: [TRANSFER_TOPIC, word(PAYER), word(to)],
    data: `0x${amount.toString(16).padStart(64, "0")}`,
    logIndex: hex(index),
    transactionHash: tx,
    blockNumber: HEAD_TAG,
  };
}

/** A node holding `logs` (all in TX unless they say), the nonce's state and the chain's time. */
function node(chain: {
  logs?: Array<ReturnType<typeof usedLog>>;
  receipt?: "mined" | "missing" | "reverted";
  used?: boolean;
  time?: number;
  down?: string[];
}): Rpc & { calls: string[] } {
  const calls: string[] = [];
  const logs = chain.logs ?? [];
  const rpc = async (method: string, params: unknown[]) => {
    calls.push(method);
    if (chain.down?.includes(method)) return { ok: false as const, reason: `${method}: down` };
    if (method === "eth_getLogs") {
      const filter = params[0] as { topics: [string[], string, string] };
      const found = logs.filter(
        (l) =>
          filter.topics[0].includes(l.topics[0]!) &&
          l.topics[1] === filter.topics[1] &&
          l.topics[2] === filter.topics[2],
      );
      return { ok: true as const, result: found };
    }
    if (method === "eth_getTransactionReceipt") {
      if (chain.receipt === "missing") return { ok: true as const, result: null };
      const hash = params[0] as string;
      return {
        ok: true as const,
        result: {
          status: chain.receipt === "reverted" ? "0x0" : "0x1",
          logs: logs.filter((l) => l.transactionHash === hash),
        },
      };
    }
    if (method === "eth_call") {
      return { ok: true as const, result: `0x${(chain.used ? "1" : "0").padStart(64, "0")}` };
    }
    if (method === "eth_getBlockByNumber") {
      return { ok: true as const, result: { number: HEAD_TAG, timestamp: hex(chain.time ?? NOW) } };
    }
    return { ok: false as const, reason: "unknown method" };
  };
  return Object.assign(rpc, { calls });
}

describe("proveTransfer", () => {
  it("should prove a payment whose authorization was used by a transfer payer → payTo of the amount", async () => {
    const chain = node({ logs: [usedLog(4), transferLog(5)], used: true });
    expect(await proveTransfer(chain, FACTS)).toEqual({ type: "paid", transaction: TX });
  });

  it("should prove a payment from a known settlement transaction without searching logs", async () => {
    const chain = node({ logs: [usedLog(0), transferLog(1)], used: true });
    expect(await proveTransfer(chain, { ...FACTS, transaction: TX })).toEqual({
      type: "paid",
      transaction: TX,
    });
    expect(chain.calls).toEqual(["eth_getTransactionReceipt"]);
  });

  it("should refuse a cancelled authorization (AuthorizationCanceled), never taking a spent nonce as payment", async () => {
    const cancelled = { ...usedLog(0), topics: [AUTHORIZATION_CANCELED_TOPIC, word(PAYER), NONCE] };
    const chain = node({ logs: [cancelled], used: true });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unpaid", why: "cancelled" });
  });

  it("should refuse an authorization whose nonce paid another address", async () => {
    const chain = node({ logs: [usedLog(0), transferLog(1, THIEF)], used: true });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unpaid", why: "diverted" });
  });

  it("should refuse an authorization used for another amount", async () => {
    const chain = node({ logs: [usedLog(0), transferLog(1, PAY_TO, 1n)], used: true });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unpaid", why: "diverted" });
  });

  it("should not let one transfer prove an authorization whose own use paid someone else", async () => {
    // The payer's batch: this nonce pays the thief, and a separate transfer pays the seller
    // once, right after another authorization's use.
    const other = {
      ...usedLog(0),
      topics: [AUTHORIZATION_USED_TOPIC, word(PAYER), `0x${"ee".repeat(32)}`],
    };
    const chain = node({
      logs: [other, transferLog(1), usedLog(2), transferLog(3, THIEF)],
      used: true,
    });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unpaid", why: "diverted" });
  });

  it("should release an authorization past validBefore that was never used", async () => {
    const chain = node({ used: false, time: FACTS.validBefore });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unpaid", why: "expired" });
  });

  it("should know nothing yet of an unused authorization still valid", async () => {
    const chain = node({ used: false, time: NOW });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unknown", unused: true });
  });

  it("should know nothing when the settlement transaction is not mined yet", async () => {
    const chain = node({ logs: [usedLog(0), transferLog(1)], receipt: "missing", used: true });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unknown" });
  });

  it("should not prove a reverted transaction", async () => {
    const chain = node({ logs: [], receipt: "reverted", used: false, time: NOW });
    expect(await proveTransfer(chain, { ...FACTS, transaction: TX })).toMatchObject({
      type: "unknown",
    });
  });

  it("should know nothing when the nonce is spent but no log is found", async () => {
    const chain = node({ used: true });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unknown" });
  });

  it.each([
    ["eth_getLogs", true],
    ["eth_getTransactionReceipt", true],
    ["eth_call", false],
    ["eth_getBlockByNumber", false],
  ])("should know nothing when the RPC fails on %s", async (method, used) => {
    const logs = used ? [usedLog(0), transferLog(1)] : [];
    const chain = node({ logs, used, time: FACTS.validBefore + 1, down: [method] });
    expect(await proveTransfer(chain, FACTS)).toMatchObject({ type: "unknown" });
  });
});

describe("jsonRpc", () => {
  it("should report an unreachable node, an HTTP error, a JSON-RPC error and garbage as failures", async () => {
    const answer = (reply: Response | Error) =>
      jsonRpc("http://rpc.test", {
        fetch: async () => {
          if (reply instanceof Error) throw reply;
          return reply;
        },
      })("eth_call", []);
    expect(await answer(new TypeError("Network connection lost."))).toMatchObject({ ok: false });
    expect(await answer(new Response("x", { status: 502 }))).toMatchObject({ ok: false });
    expect(
      await answer(Response.json({ jsonrpc: "2.0", id: 1, error: { message: "nope" } })),
    ).toMatchObject({ ok: false, reason: "eth_call: RPC error: nope" });
    expect(await answer(new Response("<html>"))).toMatchObject({ ok: false });
    expect(await answer(Response.json({ jsonrpc: "2.0", id: 1, result: "0x1" }))).toEqual({
      ok: true,
      result: "0x1",
    });
  });

  it("should leave a payment unknown on a network with no RPC configured", async () => {
    expect(await chainProver({}).prove("eip155:8453", FACTS)).toMatchObject({
      type: "unknown",
      reason: expect.stringContaining("CHAIN_RPC_URLS"),
    });
  });
});

describe("transferFacts", () => {
  const payload = {
    x402Version: 2,
    payload: {
      signature: "0x11",
      authorization: {
        from: PAYER,
        to: PAY_TO,
        value: "1000",
        validAfter: "0",
        validBefore: "99",
        nonce: NONCE,
      },
    },
  };
  it("should read an exact EVM authorization", () => {
    expect(
      transferFacts({ scheme: "exact", network: "eip155:84532", asset: ASSET }, payload),
    ).toEqual({
      ok: true,
      facts: {
        asset: ASSET,
        payer: PAYER,
        payTo: PAY_TO,
        amount: "1000",
        nonce: NONCE,
        validBefore: 99,
        validAfter: 0,
      },
    });
  });
  it.each([
    ["upto", "eip155:84532"],
    ["exact", "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"],
  ])("should say a %s payment on %s cannot be proven here", (scheme, network) => {
    expect(transferFacts({ scheme, network, asset: ASSET }, payload)).toMatchObject({ ok: false });
  });
});

describe("chainRpcUrls", () => {
  const secret = (name: string) =>
    name === "BASE_RPC" ? "https://base.example/v2/key" : undefined;
  it("should read a network's URL with the span of its log search", () => {
    expect(
      chainRpcUrls(
        JSON.stringify({
          "eip155:8453": { url: "env:BASE_RPC", maxLogBlocks: 20000 },
          "eip155:84532": "http://127.0.0.1:8545",
        }),
        secret,
      ),
    ).toEqual({
      ok: true,
      urls: {
        "eip155:8453": { url: "https://base.example/v2/key", maxLogBlocks: 20000 },
        "eip155:84532": "http://127.0.0.1:8545",
      },
    });
  });

  it.each([
    [{ url: "http://x.test", maxLogBlocks: 0 }, "maxLogBlocks"],
    [{ url: "http://x.test", maxLogBlocks: "5" }, "maxLogBlocks"],
    [{ url: "http://x.test", maxLogBlock: 5 }, 'unknown key "maxLogBlock"'],
    [{ maxLogBlocks: 5 }, "must be a URL"],
  ])("should name the problem of %j", (entry, problem) => {
    const read = chainRpcUrls(JSON.stringify({ "eip155:1": entry }), secret);
    expect(read.ok).toBe(false);
    expect(!read.ok && read.problems.join("\n")).toContain(problem);
  });

  it("should search only maxLogBlocks blocks when a network's entry sets it", async () => {
    const seen: Array<{ fromBlock: string; toBlock: string }> = [];
    const head = 1_000_000;
    const prover = chainProver(
      { "eip155:84532": { url: "http://span.test", maxLogBlocks: 700 } },
      {
        fetch: async (_input, init) => {
          const call = JSON.parse(String(init?.body)) as {
            id: number;
            method: string;
            params: unknown[];
          };
          const result = (() => {
            if (call.method === "eth_chainId") return "0x14a34";
            if (call.method === "eth_getBlockByNumber") {
              const tag = call.params[0] === "latest" ? hex(head) : String(call.params[0]);
              return { number: tag, timestamp: hex(NOW - (head - Number(tag)) * 2) };
            }
            if (call.method === "eth_call") return `0x${"1".padStart(64, "0")}`;
            if (call.method === "eth_getLogs") {
              seen.push(call.params[0] as { fromBlock: string; toBlock: string });
              return [];
            }
            return null;
          })();
          return Response.json({ jsonrpc: "2.0", id: call.id, result });
        },
      },
    );
    expect(await prover.prove("eip155:84532", FACTS)).toMatchObject({
      type: "unknown",
      reason: expect.stringContaining("700 blocks"),
    });
    expect(seen).toEqual(
      [{ fromBlock: hex(head - 699), toBlock: hex(head) }].map((r) => expect.objectContaining(r)),
    );
  });
});
