import { searchLogs } from "./logs";
import { DEFAULT_MAX_LOG_BLOCKS, TRANSFER_TOPIC } from "./facts";
import type { Proof, ProofOptions, TransferFacts } from "./facts";
import type { Rpc } from "./rpc";
import { blockTag, quantity, readBlock, readTransactionInput } from "./shape";
import type { ChainBlock, ChainLog } from "./shape";

/**
 * Proof from the chain that one Permit2 permit (an `upto` payment) paid the seller, for a
 * payment whose settlement answer was lost. Permit2 emits no event naming a permit's nonce, so:
 *
 * 1. one snapshot: the latest block is read first, every later read is at its number;
 * 2. `nonceBitmap(payer, nonce >> 8)` on Permit2 at the snapshot, bit `nonce & 0xff`: unused
 *    and the snapshot's time at or past the permit's `deadline` → expired (Permit2 refuses it
 *    once `block.timestamp > deadline`, so nothing can move it after); unused before → nothing
 *    known yet;
 * 3. used: the token's `Transfer(payer → payTo)` logs are searched from the witness's
 *    `validAfter` (src/chain/logs.ts). A candidate moves exactly the amount the settlement asked
 *    for when that is known (`charged`), else at most the permitted maximum, and counts only if
 *    its transaction's call data holds the permit's nonce and the payer's address as 32-byte
 *    words (the permit's arguments): a transfer of another permit, or one the payer made
 *    directly, proves nothing. Found → paid in that transaction; none in a window that covers
 *    every block that could hold it → the nonce was used without this transfer (refused);
 *    anything incomplete → unknown.
 *
 * The nonce binds a transaction to one permit, so one transfer proves one permit only. Every
 * answer is shape-checked; any unexpected answer is `unknown`, never a verdict.
 */

/** Permit2's address, the same on every chain (CREATE2). */
export const PERMIT2 = "0x000000000022d473030f116ddee9f6b43ac78ba3";
/** `nonceBitmap(address,uint256)`. */
const NONCE_BITMAP = "0x4fe02b44";
/** Candidate transactions one proof reads at most. */
const MAX_CANDIDATES = 16;

const WORD = /^0x[0-9a-fA-F]{64}$/;

/** Reads the chain for a Permit2 permit's `facts` (`permit2` set); throws only on a bug. */
export async function provePermit2(
  rpc: Rpc,
  facts: TransferFacts,
  options: ProofOptions,
): Promise<Proof> {
  const charged = facts.permit2?.charged;
  if (charged !== undefined && !/^\d{1,78}$/.test(charged)) {
    return { type: "unknown", reason: "the payment's charged amount cannot be read" };
  }
  const head = await rpc("eth_getBlockByNumber", ["latest", false]);
  if (!head.ok) return { type: "unknown", reason: head.reason };
  const latest = readBlock(head.result);
  if (!latest) return { type: "unknown", reason: "eth_getBlockByNumber answered no block" };
  const nonce = BigInt(facts.nonce);
  const state = await rpc("eth_call", [
    { to: PERMIT2, data: `${NONCE_BITMAP}${word(facts.payer).slice(2)}${hex64(nonce >> 8n)}` },
    blockTag(latest.number),
  ]);
  if (!state.ok) return { type: "unknown", reason: state.reason };
  // A uint256 is one 32-byte word; "0x" (no contract at the address) is no answer.
  if (typeof state.result !== "string" || !WORD.test(state.result)) {
    return { type: "unknown", reason: "Permit2's nonceBitmap gave no answer" };
  }
  const used = (BigInt(state.result) >> (nonce & 0xffn)) & 1n;
  if (used === 0n) {
    if (latest.timestamp >= BigInt(facts.validBefore)) {
      return {
        type: "unpaid",
        why: "expired",
        reason: "the permit expired without being used on chain; nothing was charged, pay again",
      };
    }
    return { type: "unknown", reason: "the permit is not used on chain yet", unused: true };
  }
  return spentBy(rpc, facts, latest, charged, options);
}

/** The transfer that spent the permit's nonce at the snapshot `latest`, if the chain shows one. */
async function spentBy(
  rpc: Rpc,
  facts: TransferFacts,
  latest: ChainBlock,
  charged: string | undefined,
  options: ProofOptions,
): Promise<Proof> {
  const maxBlocks = options.maxLogBlocks ?? DEFAULT_MAX_LOG_BLOCKS;
  const search = await searchLogs(
    rpc,
    {
      address: facts.asset.toLowerCase(),
      topics: [[TRANSFER_TOPIC], [word(facts.payer)], [word(facts.payTo)]],
    },
    { latest, notBefore: facts.validAfter, maxBlocks, all: true },
  );
  if (!search.ok) return { type: "unknown", reason: search.reason };
  const maximum = BigInt(facts.amount);
  const candidates = search.logs
    .filter((log) => log.topics.length === 3 && fits(log, charged, maximum))
    .sort((a, b) => (a.blockNumber > b.blockNumber ? -1 : a.blockNumber < b.blockNumber ? 1 : 0));
  const hashes = [...new Set(candidates.map((log) => log.transactionHash))];
  let incomplete = hashes.length > MAX_CANDIDATES;
  const binding = [word(facts.payer).slice(2), hex64(BigInt(facts.nonce))];
  for (const hash of hashes.slice(0, MAX_CANDIDATES)) {
    const answer = await rpc("eth_getTransactionByHash", [hash]);
    if (!answer.ok) return { type: "unknown", reason: answer.reason };
    const input = readTransactionInput(answer.result);
    if (input === undefined) {
      return { type: "unknown", reason: `eth_getTransactionByHash answered garbage for ${hash}` };
    }
    if (input === null) {
      incomplete = true;
      continue;
    }
    if (binding.every((needle) => holdsWord(input, needle))) {
      return { type: "paid", transaction: hash };
    }
  }
  if (incomplete) {
    return {
      type: "unknown",
      reason: "the permit's transfer could not be told among its candidates",
    };
  }
  if (!search.covered) {
    return {
      type: "unknown",
      reason: `the permit's nonce is used but its transfer is not in the last ${maxBlocks} blocks searched`,
    };
  }
  return {
    type: "unpaid",
    why: "diverted",
    reason: `the permit's nonce was used without this transfer to ${facts.payTo}`,
  };
}

function fits(log: ChainLog, charged: string | undefined, maximum: bigint): boolean {
  const value = quantity(log.data);
  if (value === undefined || log.data.length !== 66) return false;
  return charged !== undefined ? value === BigInt(charged) : value <= maximum;
}

/** Whether call data `input` (0x + hex) holds `needle` (64 hex) at a byte boundary. */
function holdsWord(input: string, needle: string): boolean {
  for (let at = input.indexOf(needle, 2); at !== -1; at = input.indexOf(needle, at + 1)) {
    if (at % 2 === 0) return true;
  }
  return false;
}

function hex64(value: bigint): string {
  return value.toString(16).padStart(64, "0");
}

/** An address as a 32-byte word. */
function word(address: string): string {
  return `0x${address.toLowerCase().replace(/^0x/, "").padStart(64, "0")}`;
}
