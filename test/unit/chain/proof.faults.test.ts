import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AUTHORIZATION_CANCELED_TOPIC,
  AUTHORIZATION_USED_TOPIC,
  TRANSFER_TOPIC,
  chainProver,
  jsonRpc,
  proveTransfer,
} from "../../../src/chain/index.ts";
import type { Rpc, TransferFacts } from "../../../src/chain/index.ts";
import { fakeChain, hex, rpcFetch } from "./fake-chain.ts";
import type { FakeLog } from "./fake-chain.ts";

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
    if (method === "eth_getBlockByNumber") {
      return { ok: true, result: { number: "0x64", timestamp: "0x1" } };
    }
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
        blockNumber: "0x10",
      },
      {
        address: ASSET,
        topics: [AUTHORIZATION_USED_TOPIC, word(PAYER), NONCE],
        data: "0x",
        logIndex: "0x3",
        transactionHash: TX,
        blockNumber: "0x11",
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
            blockNumber: "0x11",
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
        blockNumber: "0x10",
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
            blockNumber: "0x10",
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
          result: {
            number: mined ? "0x66" : "0x64",
            timestamp: `0x${(validBefore + (mined ? 2 : -5)).toString(16)}`,
          },
        };
      }
      return { ok: true, result: null };
    };
    const proof = await proveTransfer(rpc, { ...FACTS, validBefore });
    expect(proof).not.toMatchObject({ type: "unpaid", why: "expired" });
  });
});

/** The payment's AuthorizationUsed and Transfer logs, in `block`, transaction `tx`. */
function paidLogs(block: number, tx = TX, to = PAY_TO, asset = ASSET): FakeLog[] {
  const at = { address: asset, transactionHash: tx, blockNumber: hex(block) };
  return [
    { ...at, topics: [AUTHORIZATION_USED_TOPIC, word(PAYER), NONCE], data: "0x", logIndex: "0x7" },
    {
      ...at,
      topics: [TRANSFER_TOPIC, word(PAYER), word(to)],
      data: `0x${(1000).toString(16).padStart(64, "0")}`,
      logIndex: "0x8",
    },
  ];
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the chain proof's answers checked before use", () => {
  it.each<[string, unknown]>([
    ["a receipt that is a string", "0x1"],
    ["a receipt without logs", { status: "0x1" }],
    [
      "a receipt whose log has no blockNumber",
      { status: "0x1", logs: [{ ...paidLogs(5)[0], blockNumber: null }] },
    ],
    [
      "a receipt whose log's data is not hex",
      { status: "0x1", logs: [{ ...paidLogs(5)[0], data: "zz" }] },
    ],
  ])("should answer unknown, never throw, on %s", async (_name, receipt) => {
    const chain = fakeChain({ head: 100, usedAt: 5, logs: paidLogs(5) });
    const rpc: Rpc = async (method, params) =>
      method === "eth_getTransactionReceipt"
        ? { ok: true, result: receipt }
        : chain(method, params);
    await expect(proveTransfer(rpc, FACTS)).resolves.toMatchObject({ type: "unknown" });
  });

  it("should answer unknown, never throw, when the node's block is not a block", async () => {
    const rpc: Rpc = async (method) =>
      method === "eth_getBlockByNumber"
        ? { ok: true, result: { number: 5, timestamp: [] } }
        : { ok: true, result: `0x${"0".repeat(64)}` };
    await expect(proveTransfer(rpc, { ...FACTS, validBefore: 1 })).resolves.toMatchObject({
      type: "unknown",
    });
  });

  it("should not release a payment as expired when authorizationState answers 0x (no contract at the asset's address)", async () => {
    const chain = fakeChain({ head: 100 });
    const rpc: Rpc = async (method, params) =>
      method === "eth_call" ? { ok: true, result: "0x" } : chain(method, params);
    const proof = await proveTransfer(rpc, { ...FACTS, validBefore: 1 });
    expect(proof).toMatchObject({ type: "unknown" });
  });

  it("should answer unknown when the RPC client itself throws", async () => {
    const rpc: Rpc = async () => {
      throw new RangeError("boom");
    };
    vi.spyOn(console, "error").mockImplementation(() => {});
    await expect(proveTransfer(rpc, FACTS)).resolves.toMatchObject({ type: "unknown" });
    const prover = chainProver(
      { "eip155:84532": "http://throws.test" },
      {
        fetch: async () => {
          throw new RangeError("boom");
        },
      },
    );
    await expect(prover.prove("eip155:84532", FACTS)).resolves.toMatchObject({ type: "unknown" });
  });
});

describe("the chain proof's own log filter", () => {
  it("should not refuse a paid payment as cancelled on another contract's AuthorizationCanceled with the payer's topics", async () => {
    const forged: FakeLog = {
      address: OTHER,
      topics: [AUTHORIZATION_CANCELED_TOPIC, word(PAYER), NONCE],
      data: "0x",
      logIndex: "0x0",
      transactionHash: OTHER_TX,
      blockNumber: hex(90),
    };
    const chain = fakeChain({
      head: 100,
      usedAt: 95,
      logs: [forged, ...paidLogs(95)],
      ignoreFilter: true,
    });
    expect(await proveTransfer(chain, FACTS)).toEqual({ type: "paid", transaction: TX });
  });

  it("should skip a removed (reorged) AuthorizationCanceled log and prove the payment from its canonical use", async () => {
    const reorged: FakeLog = {
      address: ASSET,
      topics: [AUTHORIZATION_CANCELED_TOPIC, word(PAYER), NONCE],
      data: "0x",
      logIndex: "0x0",
      transactionHash: OTHER_TX,
      blockNumber: hex(94),
      removed: true,
    };
    const chain = fakeChain({ head: 100, usedAt: 95, logs: [reorged, ...paidLogs(95)] });
    expect(await proveTransfer(chain, FACTS)).toEqual({ type: "paid", transaction: TX });
  });

  it("should not take a use of the payer's nonce on another contract for this payment's use", async () => {
    // Another token's authorization with the same payer and nonce paid someone: not this one.
    const chain = fakeChain({
      head: 100,
      usedAt: 95,
      logs: paidLogs(95, OTHER_TX, OTHER, OTHER),
      ignoreFilter: true,
    });
    const proof = await proveTransfer(chain, FACTS);
    expect(proof.type).toBe("unknown");
  });
});

describe("the chain proof reads one snapshot", () => {
  it("should read the latest block first, then authorizationState and the logs at that block's number", async () => {
    const chain = fakeChain({ head: 200, usedAt: 150, logs: paidLogs(150) });
    expect(await proveTransfer(chain, FACTS)).toEqual({ type: "paid", transaction: TX });
    expect(chain.calls[0]).toEqual({ method: "eth_getBlockByNumber", params: ["latest", false] });
    const state = chain.calls.find((c) => c.method === "eth_call")!;
    expect(state.params[1]).toBe(hex(200));
    const searches = chain.calls.filter((c) => c.method === "eth_getLogs");
    expect(searches.length).toBeGreaterThan(0);
    for (const search of searches) {
      const filter = search.params[0] as { fromBlock: string; toBlock: string };
      expect(filter.fromBlock).not.toBe("earliest");
      expect(Number(BigInt(filter.toBlock))).toBeLessThanOrEqual(200);
    }
  });

  it("should not release an authorization as expired when it was used in a block mined after its state was read, at a time before validBefore", async () => {
    // The node moves on while the proof reads: the use lands in block 101 (time < validBefore),
    // block 102 (time ≥ validBefore) follows. At the snapshot (100) it is unused and not expired.
    const validBefore = NOW + 10;
    const chain = fakeChain({
      head: 100,
      time: (b) => validBefore - 5 + (b - 100) * 6,
      usedAt: 101,
      logs: paidLogs(101),
    });
    const moving: Rpc = async (method, params) => {
      const answer = await chain(method, params);
      if (method === "eth_call") chain.chain.head = 102; // mined right after the state was read
      return answer;
    };
    const proof = await proveTransfer(moving, { ...FACTS, validBefore });
    expect(proof).not.toMatchObject({ type: "unpaid" });
  });
});

describe("the chain proof's log window", () => {
  const start = 5_000_000;
  const head = 5_010_000;
  const time = (b: number) => NOW - (head - b) * 2;

  it("should search from the block at the authorization's validAfter, not from earliest", async () => {
    const validAfter = time(head - 300) + 1; // 10 minutes ago on a 2 s chain
    const chain = fakeChain({ head, time, usedAt: head - 100, logs: paidLogs(head - 100) });
    expect(await proveTransfer(chain, { ...FACTS, validAfter })).toEqual({
      type: "paid",
      transaction: TX,
    });
    const searches = chain.calls.filter((c) => c.method === "eth_getLogs");
    for (const search of searches) {
      const from = Number(BigInt((search.params[0] as { fromBlock: string }).fromBlock));
      expect(from).toBeGreaterThanOrEqual(head - 1000);
      expect(time(from)).toBeLessThanOrEqual(validAfter);
    }
  });

  it("should find the window's start when block times are uneven (the sample's rate is wrong)", async () => {
    // 1 s blocks recently, 60 s blocks before block head-500: the first estimate falls short.
    const uneven = (b: number) =>
      b >= head - 500 ? NOW - (head - b) : NOW - 500 - (head - 500 - b) * 60;
    const validAfter = uneven(head - 3000) + 1;
    const chain = fakeChain({
      head,
      time: uneven,
      usedAt: head - 2999,
      logs: paidLogs(head - 2999),
    });
    expect(await proveTransfer(chain, { ...FACTS, validAfter })).toEqual({
      type: "paid",
      transaction: TX,
    });
  });

  it("should page the search in halves when the node refuses a wide range, and still find the use", async () => {
    const validAfter = time(start) + 1;
    const chain = fakeChain({
      head,
      time,
      usedAt: start + 10,
      logs: paidLogs(start + 10),
      rangeLimit: 2000,
    });
    expect(await proveTransfer(chain, { ...FACTS, validAfter })).toEqual({
      type: "paid",
      transaction: TX,
    });
    const searches = chain.calls.filter((c) => c.method === "eth_getLogs");
    expect(searches.length).toBeLessThanOrEqual(32);
  });

  it("should answer unknown after a bounded number of calls when the node refuses every range", async () => {
    const chain = fakeChain({
      head,
      time,
      usedAt: start + 10,
      logs: paidLogs(start + 10),
      rangeLimit: 0,
    });
    const proof = await proveTransfer(chain, { ...FACTS, validAfter: time(start) });
    expect(proof).toMatchObject({ type: "unknown" });
    expect(chain.calls.filter((c) => c.method === "eth_getLogs").length).toBeLessThanOrEqual(32);
  });

  it("should cap the search to maxLogBlocks and answer unknown, never expired or diverted, when the use lies beyond it", async () => {
    const chain = fakeChain({ head, time, usedAt: start, logs: paidLogs(start) });
    const proof = await proveTransfer(chain, { ...FACTS, validAfter: 0 }, { maxLogBlocks: 5000 });
    expect(proof).toMatchObject({ type: "unknown" });
    expect((proof as { reason: string }).reason).toMatch(/5000 blocks/);
    for (const search of chain.calls.filter((c) => c.method === "eth_getLogs")) {
      const from = Number(BigInt((search.params[0] as { fromBlock: string }).fromBlock));
      expect(from).toBeGreaterThan(head - 5000);
    }
  });

  it("should still release an expired unused authorization whatever the window (the state decides, not the logs)", async () => {
    const chain = fakeChain({ head, time, rangeLimit: 0 });
    const proof = await proveTransfer(chain, { ...FACTS, validAfter: 0, validBefore: NOW - 60 });
    expect(proof).toMatchObject({ type: "unpaid", why: "expired" });
  });
});

describe("the chain prover against the node's chain id, size and time", () => {
  const chain = () => fakeChain({ head: 100, usedAt: 95, logs: paidLogs(95) });

  it("should answer unknown with the chain id in the reason, logged once, when the RPC serves another chain", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const methods: string[] = [];
    const prover = chainProver(
      { "eip155:84532": "http://mainnet.test/key" },
      { fetch: rpcFetch(chain(), { chainId: 8453, methods }) },
    );
    for (let i = 0; i < 2; i++) {
      const proof = await prover.prove("eip155:84532", FACTS);
      expect(proof).toMatchObject({
        type: "unknown",
        reason: expect.stringMatching(/8453.*84532/),
      });
    }
    expect(errors).toHaveBeenCalledTimes(1);
    expect(String(errors.mock.calls[0]![0])).not.toContain("mainnet.test");
    expect(methods).toEqual(["eth_chainId"]);
  });

  it("should read the chain id once per URL and then prove from that node", async () => {
    const methods: string[] = [];
    const prover = chainProver(
      { "eip155:84532": "http://sepolia-once.test" },
      { fetch: rpcFetch(chain(), { chainId: 84532, methods }) },
    );
    expect(await prover.prove("eip155:84532", FACTS)).toEqual({ type: "paid", transaction: TX });
    expect(await prover.prove("eip155:84532", FACTS)).toEqual({ type: "paid", transaction: TX });
    expect(methods.filter((m) => m === "eth_chainId")).toEqual(["eth_chainId"]);
  });

  it("should not remember a chain id read that failed", async () => {
    let down = true;
    const serve = rpcFetch(chain(), { chainId: 84532 });
    const prover = chainProver(
      { "eip155:84532": "http://sepolia-flaky.test" },
      {
        fetch: async (input, init) => {
          if (down) return new Response("bad gateway", { status: 502 });
          return serve(input, init);
        },
      },
    );
    expect(await prover.prove("eip155:84532", FACTS)).toMatchObject({ type: "unknown" });
    down = false;
    expect(await prover.prove("eip155:84532", FACTS)).toEqual({ type: "paid", transaction: TX });
  });

  it("should answer unknown when an answer is larger than 1 MiB, read no further than the cap", async () => {
    const huge = `{"jsonrpc":"2.0","id":1,"result":"0x${"0".repeat(2 << 20)}"}`;
    let pulled = 0;
    const body = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = new TextEncoder().encode(huge.slice(pulled, pulled + 65536));
          pulled += 65536;
          if (chunk.byteLength === 0) controller.close();
          else controller.enqueue(chunk);
        },
      });
    const rpc = jsonRpc("http://big.test", { fetch: async () => new Response(body()) });
    expect(await rpc("eth_call", [])).toMatchObject({ ok: false, limited: true });
    expect(pulled).toBeLessThanOrEqual((1 << 20) + 2 * 65536);
    const declared = jsonRpc("http://big.test", {
      fetch: async () => new Response("{}", { headers: { "Content-Length": String(2 << 20) } }),
    });
    expect(await declared("eth_call", [])).toMatchObject({ ok: false, limited: true });
    const serve = rpcFetch(chain(), { chainId: 84532 });
    const prover = chainProver(
      { "eip155:84532": "http://big-logs.test" },
      {
        fetch: async (input, init) => {
          const call = JSON.parse(String(init?.body)) as { method: string };
          if (call.method === "eth_getLogs") return new Response(huge);
          return serve(input, init);
        },
      },
    );
    expect(await prover.prove("eip155:84532", FACTS)).toMatchObject({ type: "unknown" });
  });

  it("should give up within the proof's time budget when every call is slow", async () => {
    // Each call takes 300 ms; a whole proof needs about six. The budget allows 700 ms.
    const prover = chainProver(
      { "eip155:84532": "http://slow.test" },
      { fetch: rpcFetch(chain(), { chainId: 84532, delayMs: 300 }), budgetMs: 700 },
    );
    const started = Date.now();
    const proof = await prover.prove("eip155:84532", FACTS);
    expect(proof).toMatchObject({ type: "unknown", reason: expect.stringMatching(/time/) });
    expect(Date.now() - started).toBeLessThan(1200);
  });

  it("should stop one call at its own timeout", async () => {
    const prover = chainProver(
      { "eip155:84532": "http://hangs.test" },
      { fetch: rpcFetch(chain(), { chainId: 84532, delayMs: 60_000 }), timeoutMs: 200 },
    );
    const started = Date.now();
    expect(await prover.prove("eip155:84532", FACTS)).toMatchObject({ type: "unknown" });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
