import { base58Decode, base58Encode, base64Decode } from "../encoding";
import { decodeTransaction, MAX_TRANSACTION_BYTES } from "./solana-tx";
import type { Instruction } from "./solana-tx";
import type { SchemeModule } from "./types";

/**
 * `exact` on Solana (x402's SVM scheme): the payload is a transaction, signed by the payer and
 * left for the facilitator to sign as fee payer, whose SPL `TransferChecked` moves exactly the
 * price of the offered mint. The fee payer is the facilitator's (`extra.feePayer`, from its
 * `/supported` listing), so only that facilitator can complete it. The payer's signature is the
 * replay key: the same signed message is the same payment. Whether the destination is the
 * payee's associated token account is for the facilitator to check (it needs a program-derived
 * address, which takes curve arithmetic this bundle does not carry).
 */

/** SPL Token and Token-2022, as bytes: instructions' program ids are compared without encoding. */
const TOKEN_PROGRAMS: readonly Uint8Array[] = [
  "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
  "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
].map((id) => base58Decode(id) ?? new Uint8Array(0));
/** SPL Token's `TransferChecked` instruction: tag 12, u64 amount, u8 decimals. */
const TRANSFER_CHECKED = 12;

interface Transfer {
  mint: string;
  authority: string;
  /** `sig:` and the authority's signature in Base58: the replay key. */
  replayKey: string;
  amount: string;
  feePayer: string;
}

/**
 * What `transferOf` read from a payload, by the payload object: a payment is checked, then asked
 * for its payer and replay key, several times on one request. Kept with the transaction text it
 * was read from, so a payload whose transaction has changed is read again.
 */
const memo = new WeakMap<object, { text: unknown; transfer: Read }>();

/** A payload's transfer, or why it has none that can pay. */
type Read = { ok: true; transfer: Transfer } | { ok: false; reason: string };

/** Reads the payment's one token transfer, or says why there is not exactly one (memoised). */
function transferOf(payload: Record<string, unknown>): Read {
  const text = payload["transaction"];
  const known = memo.get(payload);
  if (known && known.text === text) return known.transfer;
  const read = readTransfer(text);
  memo.set(payload, { text, transfer: read });
  return read;
}

function readTransfer(text: unknown): Read {
  if (typeof text !== "string" || text.length > (MAX_TRANSACTION_BYTES * 4) / 3 + 4) {
    return fail("payload.transaction must be a base64 Solana transaction");
  }
  const bytes = base64Decode(text);
  if (!bytes) return fail("payload.transaction is not base64");
  const decoded = decodeTransaction(bytes);
  if (!decoded.ok) return fail(`payload.transaction: ${decoded.reason}`);
  const tx = decoded.transaction;
  const transfers = tx.instructions.filter(isTransferChecked);
  if (transfers.length !== 1)
    return fail("payload.transaction must make exactly one token transfer");
  const [instruction] = transfers as [Instruction];
  const [, mint, , authority] = instruction.accounts;
  if (!mint || !authority) return fail("payload.transaction's transfer uses address lookup tables");
  const signer = tx.accountKeys.slice(0, tx.requiredSignatures).findIndex((k) => eq(k, authority));
  const signature = tx.signatures[signer];
  const feePayer = tx.accountKeys[0];
  if (signer < 0 || !signature || !feePayer) {
    return fail("payload.transaction's transfer is not signed by its authority");
  }
  const view = new DataView(instruction.data.buffer, instruction.data.byteOffset, 9);
  const transfer: Transfer = {
    mint: base58Encode(mint),
    authority: base58Encode(authority),
    replayKey: `sig:${base58Encode(signature)}`,
    amount: view.getBigUint64(1, true).toString(),
    feePayer: base58Encode(feePayer),
  };
  return { ok: true, transfer };
}

function fail(reason: string): Read {
  return { ok: false, reason };
}

function isTransferChecked(instruction: Instruction): boolean {
  const program = instruction.program;
  return (
    program !== undefined &&
    TOKEN_PROGRAMS.some((id) => eq(id, program)) &&
    instruction.data.length === 10 &&
    instruction.data[0] === TRANSFER_CHECKED &&
    instruction.accounts.length >= 4
  );
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The `exact` Solana scheme. */
export const exactSvm: SchemeModule = {
  scheme: "exact",
  namespace: "solana",
  v1: false,
  facilitatorExtra: ["feePayer"],
  offerExtra: () => ({ ok: true, extra: {} }),
  check(payload, offered) {
    const read = transferOf(payload);
    if (!read.ok) return read.reason;
    const { transfer } = read;
    if (transfer.mint !== offered.asset) return "payload.transaction transfers another token";
    if (transfer.amount !== offered.amount) {
      return "payload.transaction's transfer is not this resource's price";
    }
    if (transfer.feePayer !== offered.extra["feePayer"]) {
      return "payload.transaction's fee payer is not the offered facilitator's";
    }
    if (transfer.authority === transfer.feePayer) {
      return "payload.transaction's fee payer may not be the one paying";
    }
    return undefined;
  },
  identity(payload) {
    const read = transferOf(payload);
    if (!read.ok) return read;
    const { authority, replayKey } = read.transfer;
    return { ok: true, identity: { payer: authority, replayKey } };
  },
};
