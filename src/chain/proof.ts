import type { Rpc } from "./rpc";

/**
 * Proof from the chain that one EIP-3009 authorization paid the seller (X402.md §3), for a
 * payment whose settlement answer was lost. A facilitator's "nonce already used" proves
 * nothing: the payer can spend a nonce with `cancelAuthorization`, or with another authorization
 * carrying the same nonce to another address. So the chain is read:
 *
 * 1. a known settlement transaction: its receipt must hold `AuthorizationUsed(payer, nonce)`
 *    from the token, followed at once by `Transfer(payer → payTo, amount)` from the token;
 * 2. otherwise `AuthorizationUsed` / `AuthorizationCanceled` logs of the token for
 *    `(payer, nonce)` (`eth_getLogs`): used → the same pair of logs in that transaction, else the
 *    authorization was diverted; cancelled → not paid;
 * 3. neither log: `authorizationState(payer, nonce)` (`eth_call`) must say unused, and the
 *    latest block's time must be past `validBefore` for "expired, never used" (the token takes
 *    it only while `block.timestamp < validBefore`); before that, nothing is known yet.
 *
 * The Transfer must be the log right after the AuthorizationUsed log (FiatToken's
 * `transferWithAuthorization` emits them in that order), so one transfer proves one
 * authorization only, never two.
 */

/** What the proof needs to know of a payment. */
export interface TransferFacts {
  /** The token contract (lower- or mixed-case 0x address). */
  asset: string;
  payer: string;
  payTo: string;
  /** Atomic units, decimal string. */
  amount: string;
  /** The EIP-3009 nonce, 0x + 64 hex. */
  nonce: string;
  /** The authorization's `validBefore`, seconds since the epoch. */
  validBefore: number;
  /** A settlement transaction hash a facilitator reported, if any. */
  transaction?: string | undefined;
}

/** The verdict of the chain. */
export type Proof =
  /** This authorization moved `amount` from payer to payTo in `transaction`. */
  | { type: "paid"; transaction: string }
  /**
   * It never will: `cancelled` (AuthorizationCanceled), `diverted` (used without this
   * transfer), `expired` (past validBefore, never used: the payer may pay anew).
   */
  | { type: "unpaid"; why: "cancelled" | "diverted" | "expired"; reason: string }
  /** No proof either way (RPC down, not mined yet, logs not found); `unused`: the chain says so. */
  | { type: "unknown"; reason: string; unused?: boolean };

/** Event topics and the `authorizationState(address,bytes32)` selector (FiatToken V2). */
export const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
export const AUTHORIZATION_USED_TOPIC =
  "0x98de503528ee59b575ef0c0a2576a82497bfc029a5685b209e9ec333479b10a5";
export const AUTHORIZATION_CANCELED_TOPIC =
  "0x1cdd46ff242716cdaa72d159d339a485b3438398348d68f09d7c8c0a59353d81";
const AUTHORIZATION_STATE = "0xe94a0102";

interface Log {
  address: string;
  topics: string[];
  data: string;
  logIndex: string;
  transactionHash: string;
}

/** Reads the chain for `facts`; never throws. */
export async function proveTransfer(rpc: Rpc, facts: TransferFacts): Promise<Proof> {
  const payer = word(facts.payer);
  const nonce = facts.nonce.toLowerCase();
  if (facts.transaction && /^0x[0-9a-fA-F]{64}$/.test(facts.transaction)) {
    const known = await transferIn(rpc, facts, facts.transaction);
    if (known.type === "paid") return known;
  }
  const logs = await rpc("eth_getLogs", [
    {
      address: facts.asset,
      fromBlock: "earliest",
      toBlock: "latest",
      topics: [[AUTHORIZATION_USED_TOPIC, AUTHORIZATION_CANCELED_TOPIC], payer, nonce],
    },
  ]);
  if (!logs.ok) return { type: "unknown", reason: logs.reason };
  const found = Array.isArray(logs.result) ? (logs.result as Log[]) : [];
  if (found.some((log) => log.topics[0]?.toLowerCase() === AUTHORIZATION_CANCELED_TOPIC)) {
    return {
      type: "unpaid",
      why: "cancelled",
      reason:
        "the payer cancelled this authorization on chain (AuthorizationCanceled); it paid nothing",
    };
  }
  const used = found.find((log) => log.topics[0]?.toLowerCase() === AUTHORIZATION_USED_TOPIC);
  if (used) {
    const inTx = await transferIn(rpc, facts, used.transactionHash);
    if (inTx.type === "paid" || inTx.type === "unknown") return inTx;
    return {
      type: "unpaid",
      why: "diverted",
      reason: `this authorization's nonce was used in ${used.transactionHash} without paying ${facts.amount} to ${facts.payTo}`,
    };
  }
  // No log: the state and the chain's clock say whether it still can be used.
  const state = await rpc("eth_call", [
    { to: facts.asset, data: `${AUTHORIZATION_STATE}${payer.slice(2)}${nonce.slice(2)}` },
    "latest",
  ]);
  if (!state.ok) return { type: "unknown", reason: state.reason };
  if (typeof state.result !== "string" || !/^0x[0-9a-fA-F]*$/.test(state.result)) {
    return { type: "unknown", reason: "authorizationState gave no answer" };
  }
  if (BigInt(state.result === "0x" ? 0 : state.result) !== 0n) {
    return { type: "unknown", reason: "the nonce is spent but no AuthorizationUsed log was found" };
  }
  const block = await rpc("eth_getBlockByNumber", ["latest", false]);
  if (!block.ok) return { type: "unknown", reason: block.reason, unused: true };
  const timestamp = quantity((block.result as { timestamp?: unknown } | null)?.timestamp);
  if (timestamp !== undefined && timestamp >= BigInt(facts.validBefore)) {
    return {
      type: "unpaid",
      why: "expired",
      reason:
        "the authorization expired without being used on chain; nothing was charged, pay again",
    };
  }
  return { type: "unknown", reason: "the authorization is not used on chain yet", unused: true };
}

/** Whether transaction `hash` used this authorization and paid with it. */
async function transferIn(
  rpc: Rpc,
  facts: TransferFacts,
  hash: string,
): Promise<
  { type: "paid"; transaction: string } | { type: "none" } | Extract<Proof, { type: "unknown" }>
> {
  const receipt = await rpc("eth_getTransactionReceipt", [hash]);
  if (!receipt.ok) return { type: "unknown", reason: receipt.reason };
  if (receipt.result === null) return { type: "unknown", reason: `${hash} is not mined yet` };
  const { status, logs } = (receipt.result ?? {}) as { status?: unknown; logs?: unknown };
  if (quantity(status) !== 1n || !Array.isArray(logs)) return { type: "none" };
  const asset = facts.asset.toLowerCase();
  const ofToken = (logs as Log[]).filter((log) => log.address?.toLowerCase() === asset);
  for (const used of ofToken) {
    const [topic, authorizer, nonce] = used.topics.map((t) => t.toLowerCase());
    if (topic !== AUTHORIZATION_USED_TOPIC) continue;
    if (authorizer !== word(facts.payer) || nonce !== facts.nonce.toLowerCase()) continue;
    const next = ofToken.find(
      (log) => quantity(log.logIndex) === (quantity(used.logIndex) ?? -2n) + 1n,
    );
    if (next && isTransfer(next, facts)) return { type: "paid", transaction: hash.toLowerCase() };
  }
  return { type: "none" };
}

function isTransfer(log: Log, facts: TransferFacts): boolean {
  const [topic, from, to] = log.topics.map((t) => t.toLowerCase());
  return (
    topic === TRANSFER_TOPIC &&
    from === word(facts.payer) &&
    to === word(facts.payTo) &&
    quantity(log.data) === BigInt(facts.amount)
  );
}

/** An address as a 32-byte topic word. */
function word(address: string): string {
  return `0x${address.toLowerCase().replace(/^0x/, "").padStart(64, "0")}`;
}

function quantity(value: unknown): bigint | undefined {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]+$/.test(value)) return undefined;
  return BigInt(value);
}
