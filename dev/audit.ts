/**
 * What the chain and the paywall's receipts ledger say about the money a payee received, so the
 * fault tests and the soak run can check that they agree: every USDC transfer to the payee is
 * one receipt with the same transaction and amount, and no receipt lacks its transfer. A receipt
 * whose transaction the paywall never learnt (a settlement whose answer was lost, resolved later
 * by "nonce already used") is matched through its EIP-3009 authorization nonce, which the token's
 * `AuthorizationUsed` event names in the transaction that moved the money.
 */
import { keccak256, toBytes } from "viem";
import { USDC_ADDRESS } from "./usdc.ts";

const TRANSFER_TOPIC = keccak256(toBytes("Transfer(address,address,uint256)"));
const AUTHORIZATION_USED_TOPIC = keccak256(toBytes("AuthorizationUsed(address,bytes32)"));

/** One token transfer into the payee, as the chain logged it. */
export interface Transfer {
  transaction: string;
  from: string;
  value: bigint;
}

/** One receipt as the admin API lists it (the fields the audit compares). */
export interface LedgerReceipt {
  transaction: string | null;
  nonce: string | null;
  amount: string;
  payer: string;
}

interface Log {
  transactionHash: string;
  topics: string[];
  data: string;
}

async function logs(rpcUrl: string, topics: Array<string | null>): Promise<Log[]> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_getLogs",
      params: [
        {
          fromBlock: "0x0",
          toBlock: "latest",
          address: USDC_ADDRESS,
          topics,
        },
      ],
    }),
  });
  const body = (await response.json()) as { result?: Log[]; error?: { message: string } };
  if (!body.result) throw new Error(`eth_getLogs failed: ${body.error?.message ?? "no result"}`);
  return body.result;
}

/** Every USDC transfer to `payTo` on the chain at `rpcUrl`, oldest first. */
export async function transfersTo(rpcUrl: string, payTo: string): Promise<Transfer[]> {
  const topic = `0x${payTo.slice(2).toLowerCase().padStart(64, "0")}`;
  return (await logs(rpcUrl, [TRANSFER_TOPIC, null, topic])).map((log) => ({
    transaction: log.transactionHash.toLowerCase(),
    from: `0x${(log.topics[1] ?? "").slice(26)}`,
    value: BigInt(log.data),
  }));
}

/**
 * The receipts the paywall's ledger holds (`GET /__x402/admin/receipts`), or `undefined` when
 * the deployment has no ledger or no admin API.
 */
export async function ledgerReceipts(
  workerUrl: string,
  adminToken: string,
): Promise<LedgerReceipt[] | undefined> {
  const response = await fetch(`${workerUrl}/__x402/admin/receipts?limit=10000`, {
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  if (response.status !== 200) return undefined;
  const body = (await response.json()) as { receipts?: LedgerReceipt[] };
  return body.receipts;
}

/** The outcome of comparing the ledger with the chain. */
export interface Audit {
  transfers: number;
  transferred: bigint;
  /** `undefined` when there is no ledger to compare. */
  receipts: number | undefined;
  /** Transactions on chain with no receipt, and receipts with no transaction on chain. */
  unrecorded: string[];
  unmatched: string[];
  agrees: boolean;
}

/** Compares the chain's transfers to `payTo` with the ledger's receipts. */
export async function auditLedger(options: {
  rpcUrl: string;
  workerUrl: string;
  payTo: string;
  adminToken: string;
}): Promise<Audit> {
  const transfers = await transfersTo(options.rpcUrl, options.payTo);
  const transferred = transfers.reduce((sum, t) => sum + t.value, 0n);
  const receipts = await ledgerReceipts(options.workerUrl, options.adminToken);
  if (receipts === undefined) {
    return {
      transfers: transfers.length,
      transferred,
      receipts: undefined,
      unrecorded: [],
      unmatched: [],
      agrees: true,
    };
  }
  const onChain = new Map(transfers.map((t) => [t.transaction, t.value]));
  // The transaction that spent each authorization nonce, for receipts that lack theirs.
  const spentIn = new Map(
    (await logs(options.rpcUrl, [AUTHORIZATION_USED_TOPIC])).map((log) => [
      `${(log.topics[1] ?? "").slice(26)}|${log.topics[2] ?? ""}`.toLowerCase(),
      log.transactionHash.toLowerCase(),
    ]),
  );
  const transactionOf = (r: LedgerReceipt) =>
    r.transaction
      ? r.transaction.toLowerCase()
      : (spentIn.get(`${r.payer.slice(2)}|${r.nonce ?? ""}`.toLowerCase()) ?? "");
  const recorded = new Map(receipts.map((r) => [transactionOf(r), BigInt(r.amount)]));
  const unrecorded = [...onChain.keys()].filter((tx) => recorded.get(tx) !== onChain.get(tx));
  const unmatched = [...recorded.keys()].filter((tx) => !onChain.has(tx));
  return {
    transfers: transfers.length,
    transferred,
    receipts: receipts.length,
    unrecorded,
    unmatched,
    agrees:
      unrecorded.length === 0 && unmatched.length === 0 && receipts.length === transfers.length,
  };
}
