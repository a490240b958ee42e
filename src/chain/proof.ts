import {
  AUTHORIZATION_CANCELED_TOPIC,
  AUTHORIZATION_USED_TOPIC,
  DEFAULT_MAX_LOG_BLOCKS,
  TRANSFER_TOPIC,
} from "./facts";
import type { Proof, ProofOptions, TransferFacts } from "./facts";
import { searchLogs } from "./logs";
import { provePermit2 } from "./permit2-proof";
import type { Rpc } from "./rpc";
import { blockTag, quantity, readBlock, readReceipt } from "./shape";

/**
 * Proof from the chain that one EIP-3009 authorization paid the seller (x402
 * specs/schemes/exact/scheme_exact_evm.md), for a payment whose settlement answer was lost. A
 * facilitator's "nonce already used" proves nothing: the payer can spend a nonce with
 * `cancelAuthorization`, or with another authorization carrying the same nonce to another address.
 * So the chain is read:
 *
 * 1. a known settlement transaction: its receipt must hold `AuthorizationUsed(payer, nonce)`
 *    from the token, followed at once by `Transfer(payer → payTo, amount)` from the token;
 * 2. otherwise one snapshot: the latest block is read first, and everything after is read at
 *    that block's number, so a transfer mined while the proof reads cannot make it contradict
 *    itself. `authorizationState(payer, nonce)` (`eth_call`) at the snapshot: unused, and the
 *    snapshot block's time at or past `validBefore` → "expired, never used" (the token takes it
 *    only while `block.timestamp < validBefore`); unused before that → nothing known yet;
 * 3. used (or cancelled) at the snapshot: the token's `AuthorizationUsed` /
 *    `AuthorizationCanceled` log for `(payer, nonce)` is searched in the blocks that can hold it
 *    (src/chain/logs.ts): used → the same pair of logs in that transaction, else the
 *    authorization was diverted; cancelled → not paid; not found → nothing known.
 *
 * The Transfer must be the log right after the AuthorizationUsed log (FiatToken's
 * `transferWithAuthorization` emits them in that order), so one transfer proves one
 * authorization only, never two. Every answer is shape-checked (src/chain/shape.ts) and the
 * node's log filter is not trusted; any unexpected error is `unknown`, never a verdict.
 */

const AUTHORIZATION_STATE = "0xe94a0102";

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const WORD = /^0x[0-9a-fA-F]{64}$/;

type Unknown = Extract<Proof, { type: "unknown" }>;

/** Reads the chain for `facts`; never throws, whatever the node answers. */
export async function proveTransfer(
  rpc: Rpc,
  facts: TransferFacts,
  options: ProofOptions = {},
): Promise<Proof> {
  try {
    return await prove(rpc, facts, options);
  } catch (error) {
    console.error("the chain check failed unexpectedly", error);
    return { type: "unknown", reason: "the chain check failed unexpectedly" };
  }
}

async function prove(rpc: Rpc, facts: TransferFacts, options: ProofOptions): Promise<Proof> {
  if (
    ![facts.asset, facts.payer, facts.payTo].every((a) => ADDRESS.test(a)) ||
    !WORD.test(facts.nonce) ||
    !/^\d{1,78}$/.test(facts.amount) ||
    !Number.isSafeInteger(facts.validBefore)
  ) {
    return { type: "unknown", reason: "the payment's authorization cannot be read on chain" };
  }
  if (facts.permit2) return provePermit2(rpc, facts, options);
  if (facts.transaction && WORD.test(facts.transaction)) {
    const known = await transferIn(rpc, facts, facts.transaction);
    if (known.type === "paid") return known;
  }
  // The snapshot: every later read is at this block.
  const head = await rpc("eth_getBlockByNumber", ["latest", false]);
  if (!head.ok) return { type: "unknown", reason: head.reason };
  const latest = readBlock(head.result);
  if (!latest) return { type: "unknown", reason: "eth_getBlockByNumber answered no block" };
  const payer = word(facts.payer);
  const nonce = facts.nonce.toLowerCase();
  const state = await rpc("eth_call", [
    { to: facts.asset, data: `${AUTHORIZATION_STATE}${payer.slice(2)}${nonce.slice(2)}` },
    blockTag(latest.number),
  ]);
  if (!state.ok) return { type: "unknown", reason: state.reason };
  // A bool is one 32-byte word; "0x" (no contract at the address) is no answer.
  if (typeof state.result !== "string" || !WORD.test(state.result)) {
    return { type: "unknown", reason: "authorizationState gave no answer" };
  }
  if (BigInt(state.result) === 0n) {
    if (latest.timestamp >= BigInt(facts.validBefore)) {
      return {
        type: "unpaid",
        why: "expired",
        reason:
          "the authorization expired without being used on chain; nothing was charged, pay again",
      };
    }
    return { type: "unknown", reason: "the authorization is not used on chain yet", unused: true };
  }
  return spentBy(rpc, facts, latest, options);
}

/** How an authorization spent at the snapshot `latest` was spent: its log says. */
async function spentBy(
  rpc: Rpc,
  facts: TransferFacts,
  latest: { number: bigint; timestamp: bigint },
  options: ProofOptions,
): Promise<Proof> {
  const maxBlocks = options.maxLogBlocks ?? DEFAULT_MAX_LOG_BLOCKS;
  const search = await searchLogs(
    rpc,
    {
      address: facts.asset.toLowerCase(),
      topics: [
        [AUTHORIZATION_USED_TOPIC, AUTHORIZATION_CANCELED_TOPIC],
        [word(facts.payer)],
        [facts.nonce.toLowerCase()],
      ],
    },
    { latest, notBefore: facts.validAfter, maxBlocks },
  );
  if (!search.ok) return { type: "unknown", reason: search.reason };
  const cancelled = search.logs.filter((log) => log.topics[0] === AUTHORIZATION_CANCELED_TOPIC);
  const used = search.logs.filter((log) => log.topics[0] === AUTHORIZATION_USED_TOPIC);
  if (cancelled.length > 0 && used.length > 0) {
    return { type: "unknown", reason: "the chain shows this nonce both used and cancelled" };
  }
  if (cancelled.length > 0) {
    return {
      type: "unpaid",
      why: "cancelled",
      reason:
        "the payer cancelled this authorization on chain (AuthorizationCanceled); it paid nothing",
    };
  }
  for (const log of used) {
    const inTx = await transferIn(rpc, facts, log.transactionHash);
    if (inTx.type === "paid" || inTx.type === "unknown") return inTx;
    if (inTx.type === "diverted") {
      return {
        type: "unpaid",
        why: "diverted",
        reason: `this authorization's nonce was used in ${log.transactionHash} without paying ${facts.amount} to ${facts.payTo}`,
      };
    }
  }
  if (used.length > 0) {
    return { type: "unknown", reason: "the receipt of the nonce's use does not show it" };
  }
  return {
    type: "unknown",
    reason: search.covered
      ? "the nonce is spent but no AuthorizationUsed log was found"
      : `the nonce is spent but its log is not in the last ${maxBlocks} blocks searched`,
  };
}

/**
 * What transaction `hash` did with this authorization: `paid` with it, `diverted` it (used it
 * without the transfer), or nothing (`absent`: reverted, or no use of it in its logs).
 */
async function transferIn(
  rpc: Rpc,
  facts: TransferFacts,
  hash: string,
): Promise<{ type: "paid"; transaction: string } | { type: "diverted" | "absent" } | Unknown> {
  const answer = await rpc("eth_getTransactionReceipt", [hash]);
  if (!answer.ok) return { type: "unknown", reason: answer.reason };
  const receipt = readReceipt(answer.result);
  if (receipt === null) return { type: "unknown", reason: `${hash} is not mined yet` };
  if (!receipt) return { type: "unknown", reason: `the receipt of ${hash} is malformed` };
  if (receipt.status !== 1n) return { type: "absent" };
  const asset = facts.asset.toLowerCase();
  const ofToken = receipt.logs.filter((log) => log.address === asset && !log.removed);
  const uses = ofToken.filter(
    (log) =>
      log.topics[0] === AUTHORIZATION_USED_TOPIC &&
      log.topics[1] === word(facts.payer) &&
      log.topics[2] === facts.nonce.toLowerCase(),
  );
  if (uses.length === 0) return { type: "absent" };
  for (const use of uses) {
    const next = ofToken.find((log) => log.logIndex === use.logIndex + 1n);
    if (next && isTransfer(next.topics, next.data, facts)) {
      return { type: "paid", transaction: hash.toLowerCase() };
    }
  }
  return { type: "diverted" };
}

function isTransfer(topics: string[], data: string, facts: TransferFacts): boolean {
  return (
    topics.length === 3 &&
    topics[0] === TRANSFER_TOPIC &&
    topics[1] === word(facts.payer) &&
    topics[2] === word(facts.payTo) &&
    quantity(data) === BigInt(facts.amount)
  );
}

/** An address as a 32-byte topic word. */
function word(address: string): string {
  return `0x${address.toLowerCase().replace(/^0x/, "").padStart(64, "0")}`;
}
