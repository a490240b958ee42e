import type { Rpc } from "../../../src/chain/index.ts";

/**
 * A fake EVM node for the chain proof's unit tests: blocks 0…head with times from a function,
 * logs in given blocks, the authorization's state flipping at a given block, and the faults of
 * real providers on demand (a block range limit, a filter that is ignored). Block tags are
 * honoured, so a test can tell a read "at the snapshot" from one at "latest".
 */

/** A log as a node stores it (hex strings). */
export interface FakeLog {
  address: string;
  topics: string[];
  data: string;
  logIndex: string;
  transactionHash: string;
  blockNumber: string;
  removed?: boolean;
}

export interface FakeChainSetup {
  /** The latest block's number (it may move: `mine`). */
  head: number;
  /** A block's time (seconds); default: 2 s blocks ending now. */
  time?: (block: number) => number;
  logs?: FakeLog[];
  /** The first block at which authorizationState is 1; undefined: never. */
  usedAt?: number;
  /** eth_getLogs over more blocks than this is refused as real providers do. */
  rangeLimit?: number;
  /** Every eth_getLogs answer is every log of the chain, whatever the filter. */
  ignoreFilter?: boolean;
  /** Permit2's `nonceBitmap` word from `usedAt` on (before: 0); default: every bit set. */
  bitmap?: bigint;
  /** `eth_getTransactionByHash` answers by hash (default null: unknown). */
  transactions?: Record<string, unknown>;
  /** Statuses of receipts by transaction (default "0x1"). */
  status?: Record<string, string>;
}

/** One call the fake received. */
export interface FakeCall {
  method: string;
  params: unknown[];
}

export const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** A fake node; `calls` records every call, `chain.head` may be moved by a test. */
export function fakeChain(
  setup: FakeChainSetup,
): Rpc & { calls: FakeCall[]; chain: FakeChainSetup } {
  const now = Math.floor(Date.now() / 1000);
  const time = setup.time ?? ((block: number) => now - (setup.head - block) * 2);
  const calls: FakeCall[] = [];
  const blockOf = (tag: unknown): number | undefined => {
    if (tag === "latest") return setup.head;
    if (typeof tag !== "string" || !/^0x[0-9a-f]+$/.test(tag)) return undefined;
    const n = Number(BigInt(tag));
    return n <= setup.head ? n : undefined;
  };
  const rpc: Rpc = async (method, params) => {
    calls.push({ method, params });
    const logs = (setup.logs ?? []).filter((l) => Number(BigInt(l.blockNumber)) <= setup.head);
    if (method === "eth_getBlockByNumber") {
      const n = blockOf(params[0]);
      return {
        ok: true,
        result: n === undefined ? null : { number: hex(n), timestamp: hex(time(n)) },
      };
    }
    if (method === "eth_call") {
      const n = blockOf(params[1]);
      if (n === undefined) return { ok: false, reason: "eth_call: RPC error: header not found" };
      const used = setup.usedAt !== undefined && n >= setup.usedAt;
      const { data } = params[0] as { data: string };
      if (data.startsWith("0x4fe02b44")) {
        const bitmap = used ? (setup.bitmap ?? (1n << 256n) - 1n) : 0n;
        return { ok: true, result: `0x${bitmap.toString(16).padStart(64, "0")}` };
      }
      return { ok: true, result: `0x${(used ? 1 : 0).toString(16).padStart(64, "0")}` };
    }
    if (method === "eth_getLogs") {
      const filter = params[0] as {
        address: string;
        fromBlock: string;
        toBlock: string;
        topics: Array<string | string[]>;
      };
      const from = blockOf(filter.fromBlock === "earliest" ? "0x0" : filter.fromBlock);
      const to = blockOf(filter.toBlock);
      if (from === undefined || to === undefined) {
        return { ok: false, reason: "eth_getLogs: RPC error: invalid block range" };
      }
      if (setup.rangeLimit !== undefined && to - from + 1 > setup.rangeLimit) {
        return {
          ok: false,
          reason: `eth_getLogs: RPC error: block range is too wide (max ${setup.rangeLimit})`,
          limited: true,
        };
      }
      if (setup.ignoreFilter) return { ok: true, result: logs };
      return {
        ok: true,
        result: logs.filter((l) => {
          const block = Number(BigInt(l.blockNumber));
          return (
            block >= from &&
            block <= to &&
            l.address.toLowerCase() === filter.address.toLowerCase() &&
            filter.topics.every((allowed, i) =>
              typeof allowed === "string"
                ? allowed === l.topics[i]
                : allowed.includes(l.topics[i]!),
            )
          );
        }),
      };
    }
    if (method === "eth_getTransactionByHash") {
      return { ok: true, result: setup.transactions?.[String(params[0])] ?? null };
    }
    if (method === "eth_getTransactionReceipt") {
      const hash = String(params[0]);
      const inTx = logs.filter((l) => l.transactionHash === hash);
      if (inTx.length === 0) return { ok: true, result: null };
      return { ok: true, result: { status: setup.status?.[hash] ?? "0x1", logs: inTx } };
    }
    return { ok: false, reason: `${method}: RPC error: the method does not exist` };
  };
  return Object.assign(rpc, { calls, chain: setup });
}

/**
 * A `fetch` serving `rpc` as JSON-RPC over HTTP, answering `eth_chainId` with `chainId` and each
 * call after `delayMs` (aborted by the request's signal).
 */
export function rpcFetch(
  rpc: Rpc,
  options: { chainId: number; delayMs?: number; methods?: string[] },
): typeof fetch {
  return async (_input, init) => {
    const call = JSON.parse(String(init?.body)) as {
      id: number;
      method: string;
      params: unknown[];
    };
    options.methods?.push(call.method);
    if (options.delayMs) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, options.delayMs);
        init?.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(init.signal!.reason as Error);
        });
      });
    }
    if (call.method === "eth_chainId") {
      return Response.json({ jsonrpc: "2.0", id: call.id, result: hex(options.chainId) });
    }
    const answer = await rpc(call.method, call.params);
    return Response.json(
      answer.ok
        ? { jsonrpc: "2.0", id: call.id, result: answer.result }
        : { jsonrpc: "2.0", id: call.id, error: { code: -32000, message: answer.reason } },
    );
  };
}
