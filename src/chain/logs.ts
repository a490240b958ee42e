import type { Rpc } from "./rpc";
import { blockTag, readBlock, readLogs } from "./shape";
import type { ChainBlock, ChainLog } from "./shape";

/**
 * A bounded `eth_getLogs` search for one authorization's events. Hosted nodes refuse a search
 * from "earliest" (and many refuse any range wider than a few thousand blocks), so the search
 * covers only the blocks that can hold the event: from a block whose time is at or before the
 * authorization's `validAfter` (EIP-3009 tokens take it only once `block.timestamp > validAfter`)
 * up to the proof's snapshot block. That start is estimated from the chain's recent block time
 * (two blocks' timestamps), checked against the chain's own time, and capped to `maxBlocks`; a
 * range the node refuses as too wide is halved and retried, newest blocks first, within a bounded
 * number of calls. The node's filter is not trusted: only logs of the contract with the exact
 * topics asked for count, and logs of blocks that left the chain (`removed`) never do.
 */

/** What is searched: one contract's logs whose topic i is one of `topics[i]` (lower case). */
export interface LogFilter {
  address: string;
  topics: string[][];
}

/** Where to search: up to the snapshot `latest`, back to `notBefore` (seconds), ≤ `maxBlocks`. */
export interface LogWindow {
  latest: ChainBlock;
  notBefore?: number | undefined;
  maxBlocks: number;
  /** Every matching log of the window, not only those of the newest chunk holding one. */
  all?: boolean | undefined;
}

/**
 * The matching logs, newest chunk first, stopping at the first chunk that holds one; `covered`
 * says whether every block that could hold one was searched (so that none found means none
 * exists up to the snapshot).
 */
export type LogSearch =
  { ok: true; logs: ChainLog[]; covered: boolean } | { ok: false; reason: string };

/** Blocks back from the latest one to the block whose time samples the chain's block time. */
const SAMPLE_BLOCKS = 1000n;
/** Probes of a block's time while looking for the window's start. */
const MAX_PROBES = 6;
/** `eth_getLogs` calls one search may make, retries after a refused range included. */
const MAX_LOG_CALLS = 32;

/** Searches `window` for logs matching `filter`; never throws on any answer. */
export async function searchLogs(
  rpc: Rpc,
  filter: LogFilter,
  window: LogWindow,
): Promise<LogSearch> {
  const start = await windowStart(rpc, window);
  if (!start.ok) return start;
  const to = window.latest.number;
  let chunk = to - start.from + 1n;
  let upper = to;
  const all: ChainLog[] = [];
  for (let calls = 0; upper >= start.from; calls++) {
    if (calls >= MAX_LOG_CALLS) {
      return { ok: false, reason: `the log search could not cover its blocks in ${calls} calls` };
    }
    const lower = upper - chunk + 1n > start.from ? upper - chunk + 1n : start.from;
    const answer = await rpc("eth_getLogs", [
      {
        address: filter.address,
        fromBlock: blockTag(lower),
        toBlock: blockTag(upper),
        // A position with one allowed topic is sent as that topic, as most clients do.
        topics: filter.topics.map((allowed) => (allowed.length === 1 ? allowed[0] : allowed)),
      },
    ]);
    if (!answer.ok) {
      if (answer.limited && chunk > 1n) {
        chunk = (chunk + 1n) / 2n;
        continue;
      }
      return { ok: false, reason: answer.reason };
    }
    const logs = readLogs(answer.result);
    if (!logs) return { ok: false, reason: "eth_getLogs answered a malformed log" };
    const found = logs.filter(
      (log) =>
        !log.removed &&
        log.blockNumber >= lower &&
        log.blockNumber <= upper &&
        matches(log, filter),
    );
    if (found.length > 0 && !window.all) return { ok: true, logs: found, covered: start.covered };
    all.push(...found);
    upper = lower - 1n;
  }
  return { ok: true, logs: all, covered: start.covered };
}

function matches(log: ChainLog, filter: LogFilter): boolean {
  if (log.address !== filter.address.toLowerCase()) return false;
  if (log.topics.length < filter.topics.length) return false;
  return filter.topics.every((allowed, i) => allowed.includes(log.topics[i]!));
}

/**
 * The first block to search: one whose time is at or before `notBefore` (or block 0), when the
 * cap allows (`covered`), else the cap's limit (`covered: false`).
 */
async function windowStart(
  rpc: Rpc,
  window: LogWindow,
): Promise<{ ok: true; from: bigint; covered: boolean } | { ok: false; reason: string }> {
  const { latest, notBefore } = window;
  const span = BigInt(Math.max(1, Math.floor(window.maxBlocks)));
  const floor = latest.number >= span ? latest.number - span + 1n : 0n;
  if (notBefore === undefined) return { ok: true, from: floor, covered: floor === 0n };
  const after = BigInt(Math.max(0, Math.floor(notBefore)));
  // No block after `notBefore` yet: none can hold the event but a newer one.
  if (latest.timestamp <= after) return { ok: true, from: latest.number, covered: true };
  // A block some way back samples the block time (and may itself be early enough).
  let from = latest.number > SAMPLE_BLOCKS ? latest.number - SAMPLE_BLOCKS : 0n;
  if (from < floor) from = floor;
  for (let probe = 0; probe < MAX_PROBES; probe++) {
    if (from === 0n) return { ok: true, from, covered: true };
    const read = await blockAt(rpc, from);
    if (!read.ok) return read;
    if (read.block.timestamp <= after) return { ok: true, from, covered: true };
    if (from === floor) return { ok: true, from, covered: false };
    // Further back: as far as the block time says, and at least twice as far as this probe.
    const back = latest.number - from;
    const estimated = estimate(latest, from, read.block.timestamp, after);
    const distance = estimated > back * 2n ? estimated : back * 2n;
    from = latest.number > distance ? latest.number - distance : 0n;
    if (from < floor) from = floor;
  }
  return { ok: false, reason: "the log search could not find where the authorization begins" };
}

/** Blocks back from `latest` to the time `after`, from the rate between two blocks, plus 25%. */
function estimate(latest: ChainBlock, known: bigint, knownTime: bigint, after: bigint): bigint {
  const blocks = latest.number - known;
  const seconds = latest.timestamp > knownTime ? latest.timestamp - knownTime : 1n;
  const back = latest.timestamp - after;
  return (back * blocks * 5n) / (seconds * 4n) + 2n;
}

async function blockAt(
  rpc: Rpc,
  number: bigint,
): Promise<{ ok: true; block: ChainBlock } | { ok: false; reason: string }> {
  const answer = await rpc("eth_getBlockByNumber", [blockTag(number), false]);
  if (!answer.ok) return { ok: false, reason: answer.reason };
  const block = readBlock(answer.result);
  if (!block || block.number !== number) {
    return { ok: false, reason: `eth_getBlockByNumber answered no block ${number}` };
  }
  return { ok: true, block };
}
