import { fields } from "../schemes";
import { proveTransfer } from "./proof";
import type { Proof, TransferFacts } from "./proof";
import { jsonRpc } from "./rpc";

/**
 * The chain check of the paid path: the facts of a payment a proof needs, read from its payload,
 * and a prover that reads the network's chain through the configured RPC URL. Only `exact` on
 * EVM (EIP-3009) can be proven today; an `upto` (Permit2) or Solana payment gets `unknown`, and
 * stays pending until an operator resolves it.
 */

/** Reads the chain for one network's payments. */
export interface ChainProver {
  /** The chain's verdict on `facts`; `unknown` when `network` has no RPC URL. */
  prove(network: string, facts: TransferFacts): Promise<Proof>;
}

/** A prover over the configured RPC URLs (`CHAIN_RPC_URLS`). */
export function chainProver(
  urls: Readonly<Record<string, string>>,
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): ChainProver {
  return {
    prove: async (network, facts) => {
      const url = urls[network];
      if (!url) {
        return {
          type: "unknown",
          reason: `no chain RPC is configured for ${network} (CHAIN_RPC_URLS)`,
        };
      }
      return proveTransfer(jsonRpc(url, options), facts);
    },
  };
}

/** What a payment offers for a proof: its facts, or why it cannot be proven from the chain. */
export type FactsOf = { ok: true; facts: TransferFacts } | { ok: false; reason: string };

/**
 * The facts of an `exact` EVM payment (its EIP-3009 authorization) paying `asset`; other schemes
 * and namespaces say why they have none.
 */
export function transferFacts(
  terms: { scheme: string; network: string; asset: string },
  paymentPayload: unknown,
): FactsOf {
  if (terms.scheme !== "exact" || !terms.network.startsWith("eip155:")) {
    return {
      ok: false,
      reason: `a ${terms.scheme} payment on ${terms.network} cannot be proven from the chain here; an operator resolves it`,
    };
  }
  const authorization = fields(fields(fields(paymentPayload)["payload"])["authorization"]);
  const { from, to, value, nonce, validBefore } = authorization;
  if (
    typeof from !== "string" ||
    typeof to !== "string" ||
    typeof value !== "string" ||
    typeof nonce !== "string" ||
    !/^\d+$/.test(String(validBefore))
  ) {
    return { ok: false, reason: "the payment carries no complete EIP-3009 authorization" };
  }
  return {
    ok: true,
    facts: {
      asset: terms.asset,
      payer: from,
      payTo: to,
      amount: value,
      nonce,
      validBefore: Number(validBefore),
    },
  };
}
