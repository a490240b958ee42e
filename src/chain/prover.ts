import { fields } from "../schemes";
import type { ChainRpc } from "./endpoints";
import { proveTransfer } from "./proof";
import type { Proof, TransferFacts } from "./facts";
import { jsonRpc } from "./rpc";
import type { Rpc } from "./rpc";

/**
 * The chain check of the paid path: the facts of a payment a proof needs, read from its payload,
 * and a prover that reads the network's chain through the configured RPC URL. `exact` on EVM
 * (EIP-3009) and `upto` on EVM (Permit2) can be proven; a Solana payment gets `unknown`, and
 * stays pending until an operator resolves it.
 *
 * A node is only believed about the network it serves: its `eth_chainId` must be the CAIP-2
 * network's reference (`eip155:84532` → `0x14a34`), read once per URL per isolate; a node of
 * another chain (a mistyped URL, a provider's default network) gives `unknown` with the reason,
 * logged once, and never a verdict. One proof runs on the request path, so all its calls share
 * a time budget (`budgetMs`, default 5 s) besides each call's own timeout.
 */

/** Reads the chain for one network's payments. */
export interface ChainProver {
  /** The chain's verdict on `facts`; `unknown` when `network` has no RPC URL. Never throws. */
  prove(network: string, facts: TransferFacts): Promise<Proof>;
}

/** Limits of each proof; every field has a default. */
export interface ProverOptions {
  /** How long one RPC call may take (default 3000 ms). */
  timeoutMs?: number;
  /** How long one proof's calls may take together (default 5000 ms). */
  budgetMs?: number;
  /** The largest RPC answer read (default 1 MiB). */
  maxBytes?: number;
  fetch?: typeof fetch;
}

/** The chain id each URL answered, per isolate: a node does not change chains. */
const chainIds = new Map<string, bigint>();
/** Mismatches already logged (network and the id answered; never the URL, which may hold a key). */
const logged = new Set<string>();

/** A prover over the configured RPC URLs (`CHAIN_RPC_URLS`). */
export function chainProver(
  urls: Readonly<Record<string, ChainRpc>>,
  options: ProverOptions = {},
): ChainProver {
  return {
    prove: async (network, facts) => {
      const entry = urls[network];
      if (!entry) {
        return {
          type: "unknown",
          reason: `no chain RPC is configured for ${network} (CHAIN_RPC_URLS)`,
        };
      }
      const { url, maxLogBlocks } = typeof entry === "string" ? { url: entry } : entry;
      try {
        const rpc = jsonRpc(url, { ...options, budgetMs: options.budgetMs ?? 5000 });
        const wrong = await wrongChain(rpc, url, network);
        if (wrong) return wrong;
        return await proveTransfer(rpc, facts, { maxLogBlocks });
      } catch (error) {
        console.error("the chain check failed unexpectedly", error);
        return { type: "unknown", reason: "the chain check failed unexpectedly" };
      }
    },
  };
}

/** Why the node at `url` cannot speak for `network`, or undefined when it can. */
async function wrongChain(
  rpc: Rpc,
  url: string,
  network: string,
): Promise<Extract<Proof, { type: "unknown" }> | undefined> {
  const reference = /^eip155:(\d{1,20})$/.exec(network)?.[1];
  if (!reference) {
    return { type: "unknown", reason: `${network} is not an EVM chain the paywall can read` };
  }
  let id = chainIds.get(url);
  if (id === undefined) {
    const answer = await rpc("eth_chainId", []);
    if (!answer.ok) return { type: "unknown", reason: answer.reason };
    const text = answer.result;
    if (typeof text !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(text)) {
      return { type: "unknown", reason: "eth_chainId gave no chain id" };
    }
    id = BigInt(text);
    chainIds.set(url, id);
  }
  if (id === BigInt(reference)) return undefined;
  const reason = `the chain RPC configured for ${network} serves chain ${id}, not ${reference} (CHAIN_RPC_URLS): nothing it says is proof`;
  if (!logged.has(`${network}|${id}`)) {
    logged.add(`${network}|${id}`);
    console.error(reason);
  }
  return { type: "unknown", reason };
}

/** What a payment offers for a proof: its facts, or why it cannot be proven from the chain. */
export type FactsOf = { ok: true; facts: TransferFacts } | { ok: false; reason: string };

/**
 * The facts of an EVM payment paying `asset`: an `exact` one's EIP-3009 authorization, or an
 * `upto` one's Permit2 permit (`charged`: what its settlement asked for, when known); other
 * schemes and namespaces say why they have none.
 */
export function transferFacts(
  terms: { scheme: string; network: string; asset: string },
  paymentPayload: unknown,
  charged?: string,
): FactsOf {
  if (terms.scheme === "upto" && terms.network.startsWith("eip155:")) {
    return permitFacts(terms.asset, paymentPayload, charged);
  }
  if (terms.scheme !== "exact" || !terms.network.startsWith("eip155:")) {
    return {
      ok: false,
      reason: `a ${terms.scheme} payment on ${terms.network} cannot be proven from the chain here; an operator resolves it`,
    };
  }
  const authorization = fields(fields(fields(paymentPayload)["payload"])["authorization"]);
  const { from, to, value, nonce, validBefore, validAfter } = authorization;
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
      ...(/^\d+$/.test(String(validAfter)) && { validAfter: Number(validAfter) }),
    },
  };
}

const MAX_UINT256 = (1n << 256n) - 1n;

function permitFacts(asset: string, paymentPayload: unknown, charged?: string): FactsOf {
  const permit = fields(fields(fields(paymentPayload)["payload"])["permit2Authorization"]);
  const permitted = fields(permit["permitted"]);
  const witness = fields(permit["witness"]);
  const { from, nonce, deadline } = permit;
  const { to, validAfter } = witness;
  const { amount, token } = permitted;
  if (
    typeof from !== "string" ||
    typeof to !== "string" ||
    typeof amount !== "string" ||
    !/^\d{1,78}$/.test(amount) ||
    typeof token !== "string" ||
    token.toLowerCase() !== asset.toLowerCase() ||
    typeof nonce !== "string" ||
    !/^\d{1,78}$/.test(nonce) ||
    BigInt(nonce) > MAX_UINT256 ||
    !/^\d{1,15}$/.test(String(deadline))
  ) {
    return { ok: false, reason: "the payment carries no complete Permit2 permit" };
  }
  return {
    ok: true,
    facts: {
      asset,
      payer: from,
      payTo: to,
      amount,
      nonce: `0x${BigInt(nonce).toString(16).padStart(64, "0")}`,
      validBefore: Number(deadline),
      ...(/^\d{1,15}$/.test(String(validAfter)) && { validAfter: Number(validAfter) }),
      permit2: { ...(charged !== undefined && { charged }) },
    },
  };
}
