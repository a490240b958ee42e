/**
 * The shapes of the JSON-RPC answers the chain proof reads (logs, receipts, blocks), checked
 * before any field is used: a node, a proxy in front of it or whatever answers at its URL may
 * send anything, and an answer that is not what the Ethereum JSON-RPC API specifies is no
 * answer (`undefined`), never a crash and never evidence. Hex is compared in lower case.
 */

/** One event log, as `eth_getLogs` and a receipt's `logs` give it. */
export interface ChainLog {
  /** The emitting contract, lower case. */
  address: string;
  /** 32-byte words, lower case. */
  topics: string[];
  data: string;
  logIndex: bigint;
  transactionHash: string;
  blockNumber: bigint;
  /** Set by a node for a log of a block that left the canonical chain (a reorg). */
  removed: boolean;
}

/** A transaction receipt: `status` 1 is success. */
export interface ChainReceipt {
  status: bigint;
  logs: ChainLog[];
}

/** A block header's number and time (seconds since the epoch). */
export interface ChainBlock {
  number: bigint;
  timestamp: bigint;
}

const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;
const WORD = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const DATA = /^0x(?:[0-9a-fA-F]{2})*$/;

/** A hex quantity (`0x1a`), or undefined. */
export function quantity(value: unknown): bigint | undefined {
  return typeof value === "string" && QUANTITY.test(value) ? BigInt(value) : undefined;
}

/** A log, or undefined unless every field the proof reads has its specified type. */
export function readLog(value: unknown): ChainLog | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const log = value as Record<string, unknown>;
  const { address, topics, data, transactionHash, removed } = log;
  const logIndex = quantity(log["logIndex"]);
  const blockNumber = quantity(log["blockNumber"]);
  if (typeof address !== "string" || !ADDRESS.test(address)) return undefined;
  if (!Array.isArray(topics) || topics.length > 4) return undefined;
  if (!topics.every((topic) => typeof topic === "string" && WORD.test(topic))) return undefined;
  if (typeof data !== "string" || !DATA.test(data)) return undefined;
  if (typeof transactionHash !== "string" || !WORD.test(transactionHash)) return undefined;
  if (logIndex === undefined || blockNumber === undefined) return undefined;
  if (removed !== undefined && typeof removed !== "boolean") return undefined;
  return {
    address: address.toLowerCase(),
    topics: (topics as string[]).map((topic) => topic.toLowerCase()),
    data: data.toLowerCase(),
    logIndex,
    transactionHash: transactionHash.toLowerCase(),
    blockNumber,
    removed: removed === true,
  };
}

/** The logs of an `eth_getLogs` answer, or undefined when it or any of its logs is malformed. */
export function readLogs(value: unknown): ChainLog[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const logs: ChainLog[] = [];
  for (const entry of value) {
    const log = readLog(entry);
    if (!log) return undefined;
    logs.push(log);
  }
  return logs;
}

/** A receipt, `null` for a transaction not mined (yet), or undefined when malformed. */
export function readReceipt(value: unknown): ChainReceipt | null | undefined {
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) return undefined;
  const receipt = value as Record<string, unknown>;
  const status = quantity(receipt["status"]);
  const logs = readLogs(receipt["logs"]);
  if (status === undefined || logs === undefined) return undefined;
  return { status, logs };
}

/** A block's number and time, or undefined when the answer is not a block. */
export function readBlock(value: unknown): ChainBlock | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const block = value as Record<string, unknown>;
  const number = quantity(block["number"]);
  const timestamp = quantity(block["timestamp"]);
  if (number === undefined || timestamp === undefined) return undefined;
  return { number, timestamp };
}

/** The hex block tag of a block number. */
export function blockTag(number: bigint): string {
  return `0x${number.toString(16)}`;
}

/** A transaction's call data (lower case), `null` for one the node does not know, or undefined. */
export function readTransactionInput(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) return undefined;
  const input = (value as Record<string, unknown>)["input"];
  if (typeof input !== "string" || !DATA.test(input)) return undefined;
  return input.toLowerCase();
}
