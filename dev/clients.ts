/**
 * Paying HTTP clients built from the official x402 SDKs, as a buyer would use them: `@x402/fetch`
 * (x402 V2) and `x402-fetch` 1.x (V1), both signing with a dev key, offline.
 */
import { wrapFetchWithPayment as wrapV2, x402Client, x402HTTPClient } from "@x402/fetch";
import {
  PAYMENT_IDENTIFIER,
  appendPaymentIdentifierToExtensions,
} from "@x402/extensions/payment-identifier";
import { createSIWxClientHook } from "@x402/extensions/sign-in-with-x";
import { decodePaymentResponseHeader } from "@x402/fetch";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment as wrapV1, decodeXPaymentResponse } from "x402-fetch";
import { localChain } from "./chain.ts";

/** A `fetch` that pays x402 challenges. */
export type PayingFetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * `@x402/fetch` 2.x with the `exact` and `upto` EVM schemes for every eip155 network, default
 * spend policy.
 * With `paymentId`, payments carry that `payment-identifier` (idempotent retries).
 * With `siwx`, the official sign-in-with-x hook (`createSIWxClientHook`) answers a 402 that
 * offers sign-in before paying, as a returning buyer's client does.
 */
export function payingFetchV2(
  privateKey: Hex,
  baseFetch: typeof fetch = fetch,
  options: { siwx?: boolean; paymentId?: string; network?: `eip155:${string}` } = {},
): PayingFetch {
  const account = privateKeyToAccount(privateKey);
  // With `network`, the client pays only there (it picks that offer among several).
  const client = new x402Client()
    .register(options.network ?? "eip155:*", new ExactEvmScheme(account))
    // Metered routes offer `upto` (Permit2): the client signs a maximum, is charged the usage.
    .register(options.network ?? "eip155:*", new UptoEvmScheme(account));
  const paymentId = options.paymentId;
  if (paymentId !== undefined) {
    // The payment-identifier extension (x402 specs/extensions/payment_identifier.md), added where
    // the 402 declares it.
    client.registerExtension({
      key: PAYMENT_IDENTIFIER,
      enrichPaymentPayload: async (payload, required) => {
        const extensions = structuredClone(required.extensions ?? {});
        appendPaymentIdentifierToExtensions(extensions, paymentId);
        return { ...payload, extensions: { ...payload.extensions, ...extensions } };
      },
    });
  }
  if (!options.siwx) return wrapV2(baseFetch, client);
  const http = new x402HTTPClient(client).onPaymentRequired(createSIWxClientHook(account));
  return wrapV2(baseFetch, http);
}

/** `x402-fetch` 1.x with a wallet on the local chain (id 84532, V1 name "base-sepolia"). */
export function payingFetchV1(
  privateKey: Hex,
  rpcUrl: string,
  baseFetch: typeof fetch = fetch,
): PayingFetch {
  const wallet = createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: localChain(rpcUrl),
    transport: http(rpcUrl, { retryCount: 0 }),
  });
  return wrapV1(baseFetch, wallet as Parameters<typeof wrapV1>[1]);
}

/** The settlement receipt of a paid response (V2 or V1 header), or undefined. */
export function receiptOf(response: Response): Record<string, unknown> | undefined {
  const v2 = response.headers.get("PAYMENT-RESPONSE");
  if (v2) return decodePaymentResponseHeader(v2) as unknown as Record<string, unknown>;
  const v1 = response.headers.get("X-PAYMENT-RESPONSE");
  if (v1) return decodeXPaymentResponse(v1) as unknown as Record<string, unknown>;
  return undefined;
}
