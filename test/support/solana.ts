import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLoopback } from "../../dev/http.ts";
import {
  address,
  generateKeyPairSigner,
  getAddressEncoder,
  getBase58Decoder,
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getProgramDerivedAddress,
  getPublicKeyFromAddress,
  getTransactionDecoder,
  signBytes,
  verifySignature,
} from "@solana/kit";
import type { KeyPairSigner, SignatureBytes, TransactionMessageBytes } from "@solana/kit";

/**
 * Solana doubles for tests (Node side, loopback only, free ports): a JSON-RPC server answering
 * the two calls x402's SVM client makes (`getAccountInfo` of the mint, `getLatestBlockhash`),
 * and a facilitator that lists `exact` on Solana devnet with its own fee payer and checks what
 * a real one would before it touches a chain: the transaction decodes, its fee payer is ours,
 * its one `TransferChecked` moves the required amount of the required mint to the payee's
 * associated token account, and the payer's signature verifies. Settling signs as fee payer
 * (that signature is the transaction's id, as on Solana) and records it; nothing is sent
 * anywhere. No local validator can run here, so this stands in for one.
 */

export const SOLANA_DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
export const DEVNET_USDC = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
export const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
export const TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
const ASSOCIATED_TOKEN_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
/** SPL Token's `TransferChecked`: tag 12, u64 amount, u8 decimals. */
const TRANSFER_CHECKED = 12;

interface Served {
  url: string;
  stop(): Promise<void>;
}

async function serve(
  handle: (req: IncomingMessage, body: string) => Promise<[number, unknown]>,
): Promise<Served> {
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      handle(req, Buffer.concat(chunks).toString("utf8"))
        .then(([status, body]) => {
          res.writeHead(status, { "Content-Type": "application/json" });
          res.end(JSON.stringify(body));
        })
        .catch((error: unknown) => res.writeHead(500).end(String(error)));
    });
  });
  const { url, stop } = await listenLoopback(server);
  return { url, stop };
}

const base58 = getBase58Decoder();

function randomBase58(bytes: number): string {
  return base58.decode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** An initialized SPL Mint account's 82 bytes: no authorities, the given decimals. */
export function mintAccountData(decimals: number, supply = 1_000_000_000_000n): Uint8Array {
  const data = new Uint8Array(82);
  const view = new DataView(data.buffer);
  // COption<Pubkey> mint authority: tag 0 (None) + 32 bytes, at 0..36.
  view.setBigUint64(36, supply, true);
  data[44] = decimals;
  data[45] = 1; // is_initialized
  // COption<Pubkey> freeze authority: tag 0 (None) + 32 bytes, at 46..82.
  return data;
}

/** A running fake Solana JSON-RPC. */
export interface FakeSolanaRpc {
  url: string;
  /** The blockhash `getLatestBlockhash` answers. */
  blockhash: string;
  /** Every call, in order. */
  calls: Array<{ method: string; params: unknown }>;
  stop(): Promise<void>;
}

/**
 * Starts a JSON-RPC server that knows the given mints (default: devnet USDC, 6 decimals, SPL
 * Token), answers any other account as absent, and gives one fixed recent blockhash.
 */
export async function startFakeSolanaRpc(
  mints: Record<string, { decimals: number; owner?: string }> = {
    [DEVNET_USDC]: { decimals: 6 },
  },
): Promise<FakeSolanaRpc> {
  const blockhash = randomBase58(32);
  const calls: FakeSolanaRpc["calls"] = [];
  const slot = 400_000_000;
  const served = await serve(async (_req, text) => {
    const { id, method, params } = JSON.parse(text) as {
      id: unknown;
      method: string;
      params: unknown[];
    };
    calls.push({ method, params });
    const context = { slot, apiVersion: "2.2.0" };
    const result = (value: unknown): [number, unknown] => [
      200,
      { jsonrpc: "2.0", id, result: { context, value } },
    ];
    if (method === "getLatestBlockhash") {
      return result({ blockhash, lastValidBlockHeight: slot + 150 });
    }
    if (method === "getAccountInfo") {
      const mint = mints[String(params[0])];
      if (!mint) return result(null);
      const data = Buffer.from(mintAccountData(mint.decimals)).toString("base64");
      return result({
        data: [data, "base64"],
        executable: false,
        lamports: 1_461_600,
        owner: mint.owner ?? TOKEN_PROGRAM,
        rentEpoch: 0,
        space: 82,
      });
    }
    return [200, { jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } }];
  });
  return { ...served, blockhash, calls };
}

/** One call the facilitator double received. */
export interface DoubleCall {
  op: "verify" | "settle";
  body: {
    x402Version: number;
    paymentPayload: { payload: { transaction?: unknown } } & Record<string, unknown>;
    paymentRequirements: Record<string, unknown> & { network: string; amount: string };
  };
  /** What it answered. */
  answer: Record<string, unknown>;
}

/** A running Solana facilitator double. */
export interface SolanaFacilitatorDouble {
  url: string;
  /** Its fee payer (a generated key; it lists it in `/supported` and signs with it). */
  feePayer: string;
  /** `/verify` and `/settle` calls, in order. */
  calls: DoubleCall[];
  /** How many times `/supported` was asked. */
  supportedCalls(): number;
  /** Transaction signatures it settled (fee payer's signature, Base58). */
  settled: string[];
  stop(): Promise<void>;
}

type Check =
  | { ok: true; payer: string; messageBytes: TransactionMessageBytes }
  | { ok: false; reason: string };

/** What a facilitator checks of an `exact` Solana payment before settling it. */
export async function checkSolanaPayment(
  body: DoubleCall["body"],
  feePayer: string,
  network: string,
): Promise<Check> {
  const fail = (reason: string): Check => ({ ok: false, reason });
  const requirements = body.paymentRequirements;
  if (requirements["scheme"] !== "exact") return fail("invalid_exact_svm_unsupported_scheme");
  if (requirements.network !== network) return fail("invalid_exact_svm_network_mismatch");
  const extra = (requirements["extra"] ?? {}) as Record<string, unknown>;
  if (extra["feePayer"] !== feePayer) {
    return fail("invalid_exact_svm_fee_payer_not_managed_by_facilitator");
  }
  const text = body.paymentPayload.payload.transaction;
  if (typeof text !== "string") return fail("invalid_exact_svm_payload_transaction");
  let tx, message;
  try {
    tx = getTransactionDecoder().decode(getBase64Encoder().encode(text));
    message = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  } catch {
    return fail("invalid_exact_svm_payload_transaction_could_not_be_decoded");
  }
  const keys = message.staticAccounts.map(String);
  if (keys[0] !== feePayer) return fail("invalid_exact_svm_fee_payer_mismatch");
  if ("addressTableLookups" in message && (message.addressTableLookups?.length ?? 0) > 0) {
    return fail("address lookup tables are not resolved by this double");
  }
  const transfers = message.instructions.filter((ix) => {
    const program = keys[ix.programAddressIndex];
    return (
      (program === TOKEN_PROGRAM || program === TOKEN_2022_PROGRAM) &&
      ix.data?.[0] === TRANSFER_CHECKED &&
      ix.data.length === 10 &&
      (ix.accountIndices?.length ?? 0) >= 4
    );
  });
  const [transfer] = transfers;
  if (transfers.length !== 1 || !transfer?.data || !transfer.accountIndices) {
    return fail("invalid_exact_svm_payload_no_transfer_instruction");
  }
  const [, mint, destination, authority] = transfer.accountIndices.map((i) => keys[i]);
  if (!mint || !destination || !authority) {
    return fail("invalid_exact_svm_payload_transaction_could_not_be_decoded");
  }
  const usesFeePayer = message.instructions.some(
    (ix) => ix.accountIndices?.includes(0) || ix.programAddressIndex === 0,
  );
  if (authority === feePayer || usesFeePayer) {
    return fail("invalid_exact_svm_payload_transaction_fee_payer_transferring_funds");
  }
  if (mint !== requirements["asset"]) return fail("invalid_exact_svm_payload_mint_mismatch");
  const program = keys[transfer.programAddressIndex]!;
  if (
    destination !== (await associatedTokenAccount(String(requirements["payTo"]), mint, program))
  ) {
    return fail("invalid_exact_svm_payload_recipient_mismatch");
  }
  const data = transfer.data;
  const amount = new DataView(data.buffer, data.byteOffset, data.length).getBigUint64(1, true);
  if (amount.toString() !== requirements.amount) {
    return fail("invalid_exact_svm_payload_amount_mismatch");
  }
  // Every signer but the fee payer (whose slot is left empty for us) must have signed.
  for (const signer of keys.slice(1, message.header.numSignerAccounts)) {
    const signature = tx.signatures[address(signer)];
    const key = await getPublicKeyFromAddress(address(signer));
    if (!signature || !(await verifySignature(key, signature, tx.messageBytes))) {
      return fail("invalid_exact_svm_payload_signature_invalid");
    }
  }
  return { ok: true, payer: authority, messageBytes: tx.messageBytes };
}

/** The associated token account of `owner` for `mint` under `tokenProgram`. */
export async function associatedTokenAccount(
  owner: string,
  mint: string,
  tokenProgram: string,
): Promise<string> {
  const encoder = getAddressEncoder();
  const [ata] = await getProgramDerivedAddress({
    programAddress: address(ASSOCIATED_TOKEN_PROGRAM),
    seeds: [
      encoder.encode(address(owner)),
      encoder.encode(address(tokenProgram)),
      encoder.encode(address(mint)),
    ],
  });
  return ata;
}

/**
 * Starts the facilitator double for `network` (default Solana devnet). A transaction already
 * settled fails to settle again, as the chain would refuse a transaction it has seen.
 */
export async function startSolanaFacilitatorDouble(
  network = SOLANA_DEVNET,
): Promise<SolanaFacilitatorDouble> {
  const signer: KeyPairSigner = await generateKeyPairSigner();
  const feePayer = signer.address;
  const calls: DoubleCall[] = [];
  const settled: string[] = [];
  let supported = 0;
  const served = await serve(async (req, text) => {
    const path = new URL(req.url ?? "/", "http://double").pathname;
    if (req.method === "GET" && path === "/supported") {
      supported += 1;
      const kind = { x402Version: 2, scheme: "exact", network, extra: { feePayer } };
      return [200, { kinds: [kind], extensions: [], signers: { "solana:*": [feePayer] } }];
    }
    const op = path === "/verify" ? "verify" : path === "/settle" ? "settle" : undefined;
    if (req.method !== "POST" || !op) return [404, { error: "not found" }];
    const body = JSON.parse(text) as DoubleCall["body"];
    const check = await checkSolanaPayment(body, feePayer, network);
    let answer: Record<string, unknown>;
    if (op === "verify") {
      answer = check.ok
        ? { isValid: true, payer: check.payer }
        : { isValid: false, invalidReason: check.reason, payer: "" };
    } else if (!check.ok) {
      answer = { success: false, errorReason: check.reason, transaction: "", network };
    } else {
      const signature: SignatureBytes = await signBytes(
        signer.keyPair.privateKey,
        check.messageBytes,
      );
      const transaction = base58.decode(signature);
      if (settled.includes(transaction)) {
        answer = {
          success: false,
          errorReason: "duplicate_settlement",
          payer: check.payer,
          transaction: "",
          network,
        };
      } else {
        settled.push(transaction);
        answer = { success: true, payer: check.payer, transaction, network };
      }
    }
    calls.push({ op, body, answer });
    return [200, answer];
  });
  return { ...served, feePayer, calls, settled, supportedCalls: () => supported };
}
