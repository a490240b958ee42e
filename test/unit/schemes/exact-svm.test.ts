import {
  address,
  compileTransaction,
  compressTransactionMessageUsingAddressLookupTables,
  decompileTransactionMessage,
  generateKeyPairSigner,
  getBase58Decoder,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  partiallySignTransaction,
} from "@solana/kit";
import type { KeyPairSigner } from "@solana/kit";
import type { PaymentRequirements } from "@x402/core/types";
import { DEFAULT_ASSETS as EVM_DEFAULT_ASSETS } from "@x402/evm";
import { EVM_NETWORK_CHAIN_ID_MAP, getEvmChainIdV1 } from "@x402/evm/v1";
import {
  DEFAULT_ASSETS as SVM_DEFAULT_ASSETS,
  SOLANA_DEVNET_CAIP2,
  SOLANA_MAINNET_CAIP2,
  TOKEN_PROGRAM_ADDRESS,
  USDC_DEVNET_ADDRESS,
  USDC_MAINNET_ADDRESS,
} from "@x402/svm";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base58Encode } from "../../../src/encoding";
import { evm } from "../../../src/schemes/evm";
import { exactSvm } from "../../../src/schemes/exact-svm";
import { schemeFor } from "../../../src/schemes/registry";
import { solana } from "../../../src/schemes/solana";
import { decodeTransaction } from "../../../src/schemes/solana-tx";
import type { OfferedTerms } from "../../../src/schemes/types";
import {
  DEVNET_USDC,
  startFakeSolanaRpc,
  startSolanaFacilitatorDouble,
} from "../../support/solana.ts";
import type { FakeSolanaRpc, SolanaFacilitatorDouble } from "../../support/solana.ts";

/**
 * The `exact` Solana scheme module against transactions built by the official x402 SVM client
 * (`@x402/svm`'s ExactSvmScheme with a `@solana/kit` key pair), its mint and blockhash read
 * from a fake JSON-RPC; and the chain tables of src/schemes held to the SDKs' constants.
 */

/** A second mint the fake RPC knows, for a payment made in another token. */
const OTHER_MINT = "CXk2AMBfi3TwaEL2468s6zP8xq9NxTXjp9gjMgzeUynM";

let rpc: FakeSolanaRpc;
let payer: KeyPairSigner;
let feePayer: string;
let payTo: string;

beforeAll(async () => {
  rpc = await startFakeSolanaRpc({ [DEVNET_USDC]: { decimals: 6 }, [OTHER_MINT]: { decimals: 6 } });
  payer = await generateKeyPairSigner();
  feePayer = (await generateKeyPairSigner()).address;
  payTo = (await generateKeyPairSigner()).address;
});

afterAll(async () => {
  await rpc.stop();
});

/** The offer the paywall makes: $0.01 of devnet USDC, the facilitator's fee payer. */
function offered(): OfferedTerms {
  return { amount: "10000", asset: DEVNET_USDC, payTo, extra: { feePayer } };
}

/** The requirements of `terms` (default: the offer) on Solana devnet. */
function requirementsOf(terms: Partial<OfferedTerms> = {}): PaymentRequirements {
  const { amount, asset, extra, payTo: to } = { ...offered(), ...terms };
  return {
    scheme: "exact",
    network: SOLANA_DEVNET_CAIP2,
    amount,
    asset,
    payTo: to,
    maxTimeoutSeconds: 60,
    extra: { ...extra },
  };
}

/** A payment payload from the official client for `terms` (default: the offer). */
async function pay(terms: Partial<OfferedTerms> = {}): Promise<Record<string, unknown>> {
  const client = new ExactSvmScheme(payer, { rpcUrl: rpc.url });
  const payload = await client.createPaymentPayload(2, requirementsOf(terms));
  return payload.payload;
}

function bytesOf(payload: Record<string, unknown>): Uint8Array {
  return new Uint8Array(getBase64Encoder().encode(String(payload["transaction"])));
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

describe("the official SVM client's transaction", () => {
  it("should be read by decodeTransaction as the SDK's own decoder reads it", async () => {
    const bytes = bytesOf(await pay());
    const decoded = decodeTransaction(bytes);
    if (!decoded.ok) throw new Error(decoded.reason);
    const tx = decoded.transaction;
    const theirs = getTransactionDecoder().decode(bytes);
    const message = getCompiledTransactionMessageDecoder().decode(theirs.messageBytes);
    // A v0 message with no lookup tables: fee payer and payer sign, the fee payer's slot empty.
    expect(message.version).toBe(0);
    expect("addressTableLookups" in message ? message.addressTableLookups : []).toEqual([]);
    expect(tx.requiredSignatures).toBe(2);
    expect(tx.accountKeys.map(base58Encode)).toEqual(message.staticAccounts.map(String));
    expect(base58Encode(tx.accountKeys[0]!)).toBe(feePayer);
    expect(base58Encode(tx.accountKeys[1]!)).toBe(payer.address);
    expect(tx.signatures[0]).toEqual(new Uint8Array(64));
    expect(tx.signatures[1]).toEqual(theirs.signatures[payer.address]);
    expect(tx.instructions.map((i) => base58Encode(i.program!))).toEqual([
      "ComputeBudget111111111111111111111111111111",
      "ComputeBudget111111111111111111111111111111",
      TOKEN_PROGRAM_ADDRESS,
      "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    ]);
    expect(tx.instructions.map((i) => [...i.data])).toEqual(
      message.instructions.map((i) => [...(i.data ?? [])]),
    );
    const transfer = tx.instructions[2]!;
    expect(transfer.accounts.map((a) => a && base58Encode(a))[1]).toBe(DEVNET_USDC);
    expect(transfer.accounts.map((a) => a && base58Encode(a))[3]).toBe(payer.address);
    expect([...transfer.data]).toEqual([12, 0x10, 0x27, 0, 0, 0, 0, 0, 0, 6]);
  });

  it("should have asked the RPC for the mint (base64) and a recent blockhash", async () => {
    const before = rpc.calls.length;
    await pay();
    const methods = rpc.calls.slice(before).map((c) => c.method);
    expect(methods).toEqual(["getAccountInfo", "getLatestBlockhash"]);
    const mintCall = rpc.calls[before]!.params as [string, { encoding: string }];
    expect(mintCall[0]).toBe(DEVNET_USDC);
    expect(mintCall[1].encoding).toBe("base64");
  });

  it("should use a blockhash given in extra.recentBlockhash without asking for one", async () => {
    const blockhash = getBase58Decoder().decode(crypto.getRandomValues(new Uint8Array(32)));
    const before = rpc.calls.length;
    const payload = await pay({ extra: { feePayer, recentBlockhash: blockhash } });
    expect(rpc.calls.slice(before).map((c) => c.method)).toEqual(["getAccountInfo"]);
    expect(exactSvm.check(payload, offered())).toBeUndefined();
  });
});

describe("exactSvm with the official client's payments", () => {
  it("should be the scheme registered for exact on Solana", () => {
    expect(schemeFor("exact", SOLANA_DEVNET_CAIP2)).toBe(exactSvm);
    expect(exactSvm.facilitatorExtra).toEqual(["feePayer"]);
  });

  it("should accept a payment made for the offer", async () => {
    expect(exactSvm.check(await pay(), offered())).toBeUndefined();
  });

  it("should name the signer as payer and its signature as the replay key", async () => {
    const payload = await pay();
    const read = exactSvm.identity(payload);
    if (!read.ok) throw new Error(read.reason);
    const identity = read.identity;
    const signature = getTransactionDecoder().decode(bytesOf(payload)).signatures[payer.address];
    expect(identity.payer).toBe(payer.address);
    expect(identity.replayKey).toBe(`sig:${getBase58Decoder().decode(signature!)}`);
  });

  it("should give two payments for the same offer different replay keys", async () => {
    const [one, two] = [exactSvm.identity(await pay()), exactSvm.identity(await pay())];
    if (!one.ok || !two.ok) throw new Error("no identity");
    const [first, second] = [one.identity, two.identity];
    expect(first.payer).toBe(second.payer);
    expect(first.replayKey).not.toBe(second.replayKey);
  });

  it.each<[string, () => Partial<OfferedTerms>, string]>([
    ["another amount", () => ({ amount: "9999" }), "is not this resource's price"],
    ["a larger amount", () => ({ amount: "10001" }), "is not this resource's price"],
    ["another mint", () => ({ asset: OTHER_MINT }), "transfers another token"],
    ["another fee payer", () => ({ extra: { feePayer: payTo } }), "fee payer is not the offered"],
  ])("should refuse a payment made for %s", async (_, terms, reason) => {
    const payload = await pay(terms());
    expect(exactSvm.check(payload, offered())).toContain(reason);
  });

  it("should refuse a payment whose fee payer is the payer itself", async () => {
    const payload = await pay({ extra: { feePayer: payer.address } });
    const terms = { ...offered(), extra: { feePayer: payer.address } };
    expect(exactSvm.check(payload, terms)).toBe(
      "payload.transaction's fee payer may not be the one paying",
    );
  });

  it("should refuse every truncation of a real transaction cleanly", async () => {
    const bytes = bytesOf(await pay());
    for (let length = 0; length < bytes.length; length += 1) {
      const cut = bytes.subarray(0, length);
      expect(decodeTransaction(cut), `length ${length}`).toMatchObject({ ok: false });
      const payload = { transaction: base64(cut) };
      expect(exactSvm.check(payload, offered()), `length ${length}`).toBeTypeOf("string");
      expect(exactSvm.identity(payload), `length ${length}`).toMatchObject({ ok: false });
    }
  });

  it("should refuse bytes after the end of a real transaction", async () => {
    const bytes = bytesOf(await pay());
    const longer = base64(new Uint8Array([...bytes, 1, 2, 3]));
    expect(decodeTransaction(new Uint8Array([...bytes, 1, 2, 3]))).toMatchObject({ ok: false });
    expect(exactSvm.check({ transaction: longer }, offered())).toBeTypeOf("string");
  });

  it("should refuse a transfer whose mint is loaded from an address lookup table", async () => {
    // The official client's transaction, recompiled with the mint in a lookup table.
    const theirs = getTransactionDecoder().decode(bytesOf(await pay()));
    const message = decompileTransactionMessage(
      getCompiledTransactionMessageDecoder().decode(theirs.messageBytes),
    );
    const table = (await generateKeyPairSigner()).address;
    const compressed = compressTransactionMessageUsingAddressLookupTables(
      message as Parameters<typeof compressTransactionMessageUsingAddressLookupTables>[0],
      { [table]: [address(DEVNET_USDC)] },
    );
    const signed = await partiallySignTransaction(
      [payer.keyPair],
      compileTransaction(compressed as typeof message),
    );
    const payload = { transaction: getBase64EncodedWireTransaction(signed) };
    const lookups = getCompiledTransactionMessageDecoder().decode(signed.messageBytes);
    expect("addressTableLookups" in lookups && lookups.addressTableLookups).toHaveLength(1);
    expect(exactSvm.check(payload, offered())).toBe(
      "payload.transaction's transfer uses address lookup tables",
    );
  });

  it.each<[string, unknown, string]>([
    ["not base64", "!!!not base64!!!", "is not base64"],
    ["cut mid-character", "AQID%", "is not base64"],
    ["empty", "", "truncated or malformed"],
    ["one zero byte", "AA==", "truncated or malformed"],
    ["four zero bytes", "AAAAAA==", "truncated or malformed"],
    ["a number", 42, "must be a base64 Solana transaction"],
    ["absent", undefined, "must be a base64 Solana transaction"],
    ["huge", "A".repeat(4000), "must be a base64 Solana transaction"],
  ])("should refuse a transaction that is %s without throwing", (_, transaction, reason) => {
    const payload = { transaction };
    expect(exactSvm.check(payload, offered())).toContain(reason);
    const identity = exactSvm.identity(payload);
    expect(identity.ok).toBe(false);
    expect(!identity.ok && identity.reason).toContain(reason);
  });

  it("should refuse random bytes and flipped bytes of a real transaction without throwing", async () => {
    const real = bytesOf(await pay());
    for (let i = 0; i < 200; i += 1) {
      const noise = crypto.getRandomValues(new Uint8Array(1 + (i % 300)));
      expect(() => exactSvm.check({ transaction: base64(noise) }, offered())).not.toThrow();
      const flipped = real.slice();
      const at = i % flipped.length;
      flipped[at] = flipped[at]! ^ 0xff;
      expect(() => exactSvm.identity({ transaction: base64(flipped) })).not.toThrow();
    }
  });
});

describe("the facilitator double (test/support/solana.ts)", () => {
  let double: SolanaFacilitatorDouble;

  beforeAll(async () => {
    double = await startSolanaFacilitatorDouble();
  });

  afterAll(async () => {
    await double.stop();
  });

  async function ask(op: "verify" | "settle", payload: unknown, requirements: unknown) {
    const body = {
      x402Version: 2,
      paymentPayload: { x402Version: 2, payload },
      paymentRequirements: requirements,
    };
    const response = await fetch(`${double.url}/${op}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    return (await response.json()) as Record<string, unknown>;
  }

  it("should list exact on Solana devnet with its fee payer", async () => {
    const listing = (await (await fetch(`${double.url}/supported`)).json()) as { kinds: unknown };
    expect(listing.kinds).toEqual([
      {
        x402Version: 2,
        scheme: "exact",
        network: SOLANA_DEVNET_CAIP2,
        extra: { feePayer: double.feePayer },
      },
    ]);
  });

  it("should verify and settle a payment made to its fee payer, once", async () => {
    const requirements = requirementsOf({ extra: { feePayer: double.feePayer } });
    const payload = await pay({ extra: { feePayer: double.feePayer } });
    expect(await ask("verify", payload, requirements)).toEqual({
      isValid: true,
      payer: payer.address,
    });
    const settled = await ask("settle", payload, requirements);
    expect(settled).toMatchObject({
      success: true,
      payer: payer.address,
      network: SOLANA_DEVNET_CAIP2,
    });
    expect(String(settled["transaction"])).toMatch(/^[1-9A-HJ-NP-Za-km-z]{86,88}$/);
    expect(await ask("settle", payload, requirements)).toMatchObject({
      success: false,
      errorReason: "duplicate_settlement",
    });
  });

  // [case, terms the client paid for, terms the double is asked to settle, expected reason];
  // both start from an offer naming the double's fee payer.
  it.each<[string, () => Partial<OfferedTerms>, () => Partial<OfferedTerms>, string]>([
    [
      "requirements naming another fee payer",
      () => ({}),
      () => ({ extra: { feePayer } }),
      "invalid_exact_svm_fee_payer_not_managed_by_facilitator",
    ],
    [
      "a transaction paid by another fee payer",
      () => ({ extra: { feePayer } }),
      () => ({}),
      "invalid_exact_svm_fee_payer_mismatch",
    ],
    [
      "another amount",
      () => ({ amount: "1" }),
      () => ({}),
      "invalid_exact_svm_payload_amount_mismatch",
    ],
    [
      "another mint",
      () => ({ asset: OTHER_MINT }),
      () => ({}),
      "invalid_exact_svm_payload_mint_mismatch",
    ],
    [
      "another payee",
      () => ({ payTo: feePayer }),
      () => ({}),
      "invalid_exact_svm_payload_recipient_mismatch",
    ],
  ])("should refuse %s", async (_, paid, asked, reason) => {
    const own = { extra: { feePayer: double.feePayer } };
    const payload = await pay({ ...own, ...paid() });
    const requirements = requirementsOf({ ...own, ...asked() });
    expect(await ask("verify", payload, requirements)).toMatchObject({
      isValid: false,
      invalidReason: reason,
    });
    expect(await ask("settle", payload, requirements)).toMatchObject({
      success: false,
      errorReason: reason,
    });
    expect(double.settled).toHaveLength(1);
  });

  it("should refuse a transaction whose payer signature does not verify, or garbage", async () => {
    const requirements = requirementsOf({ extra: { feePayer: double.feePayer } });
    const bytes = bytesOf(await pay({ extra: { feePayer: double.feePayer } }));
    const at = 1 + 64 + 10; // inside the payer's signature
    bytes[at] = bytes[at]! ^ 1;
    expect(await ask("verify", { transaction: base64(bytes) }, requirements)).toMatchObject({
      isValid: false,
      invalidReason: "invalid_exact_svm_payload_signature_invalid",
    });
    expect(await ask("verify", { transaction: "AAAA" }, requirements)).toMatchObject({
      isValid: false,
      invalidReason: "invalid_exact_svm_payload_transaction_could_not_be_decoded",
    });
  });
});

describe("chain tables held to the SDKs", () => {
  it("should list Solana mainnet and devnet with @x402/svm's USDC mints", () => {
    expect(Object.keys(solana.networks).sort()).toEqual(
      [SOLANA_MAINNET_CAIP2, SOLANA_DEVNET_CAIP2].sort(),
    );
    expect(solana.networks[SOLANA_MAINNET_CAIP2]?.usdc).toEqual({
      address: USDC_MAINNET_ADDRESS,
      decimals: 6,
    });
    expect(solana.networks[SOLANA_DEVNET_CAIP2]?.usdc).toEqual({
      address: USDC_DEVNET_ADDRESS,
      decimals: 6,
    });
    expect(DEVNET_USDC).toBe(USDC_DEVNET_ADDRESS);
  });

  it("should match @x402/svm's default asset for every Solana network it lists", () => {
    for (const [network, info] of Object.entries(solana.networks)) {
      const [usdc] = SVM_DEFAULT_ASSETS[network as keyof typeof SVM_DEFAULT_ASSETS] ?? [];
      expect(usdc, network).toMatchObject({
        asset: info.usdc.address,
        decimals: info.usdc.decimals,
        symbol: "USDC",
        tokenProgram: TOKEN_PROGRAM_ADDRESS,
      });
      expect(info.v1Name, network).toBeUndefined();
      expect(solana.isAddress(info.usdc.address)).toBe(true);
    }
  });

  it("should match @x402/evm's default USDC for every EVM network it lists", () => {
    for (const [network, info] of Object.entries(evm.networks)) {
      const assets = EVM_DEFAULT_ASSETS[network as keyof typeof EVM_DEFAULT_ASSETS] ?? [];
      const usdc = assets.find((a) => a.symbol === "USDC");
      expect(usdc, network).toBeDefined();
      expect(
        {
          address: info.usdc.address,
          decimals: info.usdc.decimals,
          name: info.usdc.eip712?.name,
          version: info.usdc.eip712?.version,
        },
        network,
      ).toEqual({ address: usdc!.asset, decimals: 6, name: usdc!.name, version: usdc!.version });
    }
  });

  it("should give each EVM network the V1 name the SDK maps to its chain id", () => {
    for (const [network, info] of Object.entries(evm.networks)) {
      const chainId = Number(network.slice("eip155:".length));
      const sdkNames = Object.entries(EVM_NETWORK_CHAIN_ID_MAP)
        .filter(([, id]) => id === chainId)
        .map(([name]) => name);
      if (info.v1Name === undefined) {
        expect(sdkNames, network).toEqual([]);
      } else {
        expect(getEvmChainIdV1(info.v1Name), network).toBe(chainId);
        expect(sdkNames, network).toContain(info.v1Name);
      }
    }
  });
});
