/**
 * Just enough of Solana's transaction wire format (legacy and v0 messages) to read what an
 * x402 `exact` payment transfers, before any facilitator is asked: the signatures, the static
 * account keys, and each instruction's program, accounts and data. Address lookup tables are
 * not resolved; an instruction account that points into one reads as undefined.
 */

/** One instruction, its accounts resolved against the static keys where they can be. */
export interface Instruction {
  program: Uint8Array | undefined;
  accounts: Array<Uint8Array | undefined>;
  data: Uint8Array;
}

/** A decoded transaction. */
export interface SolanaTransaction {
  signatures: Uint8Array[];
  /** The static account keys; the first `requiredSignatures` sign, the first pays the fee. */
  accountKeys: Uint8Array[];
  requiredSignatures: number;
  instructions: Instruction[];
}

/** The largest transaction Solana accepts (a packet's payload). */
export const MAX_TRANSACTION_BYTES = 1232;

/** A decoded transaction, or why the bytes are not one. */
export type DecodedTransaction =
  { ok: true; transaction: SolanaTransaction } | { ok: false; reason: string };

/** Decodes a transaction, or says why the bytes are not one. */
export function decodeTransaction(bytes: Uint8Array): DecodedTransaction {
  if (bytes.length > MAX_TRANSACTION_BYTES)
    return { ok: false, reason: "the transaction is larger than Solana allows" };
  let at = 0;
  const fail = "the transaction is truncated or malformed";
  const byte = (): number => {
    const value = bytes[at];
    if (value === undefined) throw new RangeError(fail);
    at += 1;
    return value;
  };
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new RangeError(fail);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const shortVec = (): number => {
    let value = 0;
    for (let shift = 0; shift < 21; shift += 7) {
      const b = byte();
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new RangeError(fail);
  };
  try {
    const signatures = Array.from({ length: shortVec() }, () => take(64));
    const first = byte();
    const versioned = (first & 0x80) !== 0;
    if (versioned && (first & 0x7f) !== 0)
      return { ok: false, reason: "only legacy and v0 transactions are read" };
    const requiredSignatures = versioned ? byte() : first;
    byte(); // read-only signed accounts
    byte(); // read-only unsigned accounts
    const accountKeys = Array.from({ length: shortVec() }, () => take(32));
    take(32); // recent blockhash
    const instructions = Array.from({ length: shortVec() }, (): Instruction => {
      const program = accountKeys[byte()];
      const accounts = Array.from({ length: shortVec() }, () => accountKeys[byte()]);
      const data = take(shortVec());
      return { program, accounts, data };
    });
    if (versioned) {
      // Address lookup tables: a table address, then its writable and read-only indexes.
      for (let tables = shortVec(); tables > 0; tables -= 1) {
        take(32);
        take(shortVec());
        take(shortVec());
      }
    }
    if (at !== bytes.length) return { ok: false, reason: fail };
    if (signatures.length !== requiredSignatures) {
      return { ok: false, reason: "the transaction's signatures do not match its signer count" };
    }
    return { ok: true, transaction: { signatures, accountKeys, requiredSignatures, instructions } };
  } catch (error) {
    if (error instanceof RangeError) return { ok: false, reason: fail };
    throw error;
  }
}
