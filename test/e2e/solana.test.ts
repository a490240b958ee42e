import { generateKeyPairSigner } from "@solana/kit";
import type { KeyPairSigner } from "@solana/kit";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import type { PaymentRequirements } from "@x402/core/types";
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FACILITATOR_KEY, PAY_TO, PAYER } from "../../dev/chain.ts";
import { DEV_SECRETS } from "../../dev/stack.ts";
import { USDC_ADDRESS, balanceOf } from "../../dev/usdc.ts";
import {
  DEVNET_USDC,
  SOLANA_DEVNET,
  startFakeSolanaRpc,
  startSolanaFacilitatorDouble,
} from "../support/solana.ts";
import type { FakeSolanaRpc, SolanaFacilitatorDouble } from "../support/solana.ts";
import { recordingFetch, useStack } from "./stack.ts";

/**
 * A Solana payment on the real local stack (anvil + Circle's USDC + the official EVM facilitator
 * + the demo origin + `wrangler dev`): `FACILITATORS` names the real facilitator for `eip155:*`
 * and a Solana facilitator double for `solana:*` (no validator can run here); one rule offers
 * Base Sepolia USDC and, as an alternative, Solana devnet USDC. The official `@x402/fetch`
 * client with only the SVM scheme pays on Solana: the double gets exactly that transaction,
 * the EVM chain sees nothing, the receipt names the Solana payer, and a replay is refused.
 */

const SOL_PATH = "/api/sol/";

let double: SolanaFacilitatorDouble;
let solanaRpc: FakeSolanaRpc;
let solPayee: string;
// Filled in once the real facilitator's URL is known, before the Worker starts.
const vars: Record<string, string> = {};

beforeAll(async () => {
  double = await startSolanaFacilitatorDouble();
  solanaRpc = await startFakeSolanaRpc();
  solPayee = (await generateKeyPairSigner()).address;
  prices.rules[0]!.alsoAccept[0]!.payTo = solPayee;
});

afterAll(async () => {
  await double?.stop();
  await solanaRpc?.stop();
});

const prices = {
  version: "e2e-solana",
  defaults: { network: "eip155:84532" },
  rules: [
    {
      path: `${SOL_PATH}*`,
      price: "$0.01",
      alsoAccept: [{ network: SOLANA_DEVNET, price: "$0.01", payTo: "" }],
    },
  ],
};

const stack = useStack({
  prices,
  vars,
  // startStack reads `vars` after this resolves: the real facilitator first, for EVM only.
  facilitatorFor: async (url) => {
    vars["FACILITATORS"] = JSON.stringify([
      { url, name: "official-evm", networks: ["eip155:*"] },
      { url: double.url, name: "solana-double", networks: ["solana:*"] },
    ]);
    return url;
  },
});

const url = (path: string) => `${stack.get().workerUrl}${path}`;
const adminHeaders = { Authorization: `Bearer ${DEV_SECRETS.ADMIN_TOKEN}` };

interface Accept {
  scheme: string;
  network: string;
  amount: string;
  asset: string;
  payTo: string;
  extra: Record<string, unknown>;
}

/** What the EVM side would show if anything had been paid or sent there. */
async function evmState() {
  const { rpcUrl } = stack.get();
  const nonce = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_getTransactionCount",
      params: [FACILITATOR_KEY.address, "latest"],
    }),
  });
  return {
    payer: await balanceOf(rpcUrl, PAYER.address, USDC_ADDRESS),
    payTo: await balanceOf(rpcUrl, PAY_TO.address, USDC_ADDRESS),
    facilitatorNonce: ((await nonce.json()) as { result: string }).result,
  };
}

function solanaClient(signer: KeyPairSigner, baseFetch: typeof fetch) {
  const client = new x402Client().register(
    "solana:*",
    new ExactSvmScheme(signer, { rpcUrl: solanaRpc.url }),
  );
  return wrapFetchWithPayment(baseFetch, client);
}

describe("a Solana payment on the local stack", () => {
  let signer: KeyPairSigner;
  let paymentHeader = "";
  let evmBefore: Awaited<ReturnType<typeof evmState>>;

  beforeAll(async () => {
    signer = await generateKeyPairSigner();
    evmBefore = await evmState();
  });

  it("should offer Base Sepolia and Solana devnet, the latter with the double's fee payer", async () => {
    const response = await fetch(url(`${SOL_PATH}offer`));
    expect(response.status).toBe(402);
    const { accepts } = JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED")!)) as {
      accepts: Accept[];
    };
    expect(accepts.map((a) => [a.scheme, a.network, a.amount, a.asset, a.payTo])).toEqual([
      ["exact", "eip155:84532", "10000", USDC_ADDRESS, PAY_TO.address],
      ["exact", SOLANA_DEVNET, "10000", DEVNET_USDC, solPayee],
    ]);
    expect(accepts[1]!.extra).toEqual({ feePayer: double.feePayer });
    expect(double.supportedCalls()).toBeGreaterThan(0);
  });

  it("should be paid by the official client on Solana and serve the origin's content", async () => {
    const recording = recordingFetch();
    const response = await solanaClient(signer, recording.fetch)(url(`${SOL_PATH}paid`));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      paid: true,
      path: `${SOL_PATH}paid`,
      payer: signer.address,
    });
    const receipt = decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE")!);
    expect(receipt).toMatchObject({
      success: true,
      network: SOLANA_DEVNET,
      payer: signer.address,
      transaction: double.settled[0],
    });
    paymentHeader = recording.sent.map((h) => h.get("PAYMENT-SIGNATURE")).find(Boolean) ?? "";
    expect(paymentHeader).not.toBe("");
    // The client read the mint and a blockhash from the (fake) Solana RPC, nothing else.
    expect(solanaRpc.calls.map((c) => c.method)).toEqual(["getAccountInfo", "getLatestBlockhash"]);
  });

  it("should have sent the double one verify and one settle of the client's very transaction", () => {
    expect(double.calls.map((c) => c.op)).toEqual(["verify", "settle"]);
    const sent = JSON.parse(atob(paymentHeader)) as {
      accepted: Accept;
      payload: { transaction: string };
    };
    for (const call of double.calls) {
      expect(call.body.paymentPayload.payload.transaction).toBe(sent.payload.transaction);
      expect(call.body.paymentRequirements).toMatchObject({
        scheme: "exact",
        network: SOLANA_DEVNET,
        amount: "10000",
        asset: DEVNET_USDC,
        payTo: solPayee,
        extra: { feePayer: double.feePayer },
      });
    }
    expect(double.calls.map((c) => c.answer)).toEqual([
      { isValid: true, payer: signer.address },
      {
        success: true,
        payer: signer.address,
        transaction: double.settled[0],
        network: SOLANA_DEVNET,
      },
    ]);
    expect(sent.accepted.network).toBe(SOLANA_DEVNET);
  });

  it("should leave the EVM chain untouched", async () => {
    expect(await evmState()).toEqual(evmBefore);
  });

  it("should record one receipt for the Solana payer", async () => {
    const response = await fetch(url(`/__x402/admin/receipts?payer=${signer.address}`), {
      headers: adminHeaders,
    });
    expect(response.status).toBe(200);
    const { receipts } = (await response.json()) as { receipts: Array<Record<string, unknown>> };
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({
      path: `${SOL_PATH}paid`,
      network: SOLANA_DEVNET,
      payer: signer.address,
      payTo: solPayee,
      asset: DEVNET_USDC,
      amount: "10000",
      transaction: double.settled[0],
    });
    expect(String(receipts[0]!["nonce"])).toMatch(/^sig:/);
  });

  it("should refuse a replay of the same payment with 409 and settle nothing more", async () => {
    const response = await fetch(url(`${SOL_PATH}paid`), {
      headers: { "PAYMENT-SIGNATURE": paymentHeader },
    });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: string }).error).toBe("payment_already_settled");
    expect(double.calls.filter((c) => c.op === "settle")).toHaveLength(1);
    expect(double.settled).toHaveLength(1);
    expect(await evmState()).toEqual(evmBefore);
  });

  it("should refuse a real transaction made for another fee payer before any facilitator call", async () => {
    const path = `${SOL_PATH}other-fee-payer`;
    const challenge = await fetch(url(path));
    const required = decodePaymentRequiredHeader(challenge.headers.get("PAYMENT-REQUIRED")!);
    const offer = required.accepts.find((a) => a.network === SOLANA_DEVNET)!;
    const stranger = (await generateKeyPairSigner()).address;
    const tampered: PaymentRequirements = { ...offer, extra: { feePayer: stranger } };
    const scheme = new ExactSvmScheme(signer, { rpcUrl: solanaRpc.url });
    const { payload } = await scheme.createPaymentPayload(2, tampered);
    const header = encodePaymentSignatureHeader({
      x402Version: 2,
      resource: required.resource,
      accepted: offer,
      payload,
    });
    const calls = double.calls.length;
    const response = await fetch(url(path), { headers: { "PAYMENT-SIGNATURE": header } });
    expect(response.status).toBe(402);
    const refused = decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!);
    expect(refused.error).toContain("fee payer is not the offered facilitator's");
    expect(double.calls).toHaveLength(calls);
    expect(stack.get().originHits(path)).toBe(0);
  });
});
