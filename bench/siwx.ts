/**
 * Sign-in-with-x as a returning buyer does it, with the official `@x402/extensions` client code:
 * a proof signed once for a route (reused under load, as the peer accepts it for minutes), and
 * the official fetch client's sign-in hook (402, sign, retry) for one request at a time.
 */
import { decodePaymentRequiredHeader } from "@x402/core/http";
import {
  createSIWxPayload,
  encodeSIWxHeader,
  type CompleteSIWxInfo,
  type SIWxExtension,
} from "@x402/extensions/sign-in-with-x";
import { privateKeyToAccount } from "viem/accounts";
import { PAYER } from "../dev/chain.ts";
import { payingFetchV2 } from "../dev/clients.ts";

const account = privateKeyToAccount(PAYER.privateKey);

/** A `sign-in-with-x` header value for `url`, answering the challenge of its 402. */
export async function siwxProof(url: string): Promise<string> {
  const response = await fetch(url);
  await response.arrayBuffer();
  const header = response.headers.get("PAYMENT-REQUIRED");
  if (response.status !== 402 || !header) throw new Error(`bench: ${url} sent no 402 challenge`);
  const extension = decodePaymentRequiredHeader(header).extensions?.["sign-in-with-x"] as
    SIWxExtension | undefined;
  const chain = extension?.supportedChains.find((c) => c.chainId.startsWith("eip155:"));
  if (!extension || !chain) throw new Error(`bench: ${url} offers no EVM sign-in`);
  const info: CompleteSIWxInfo = { ...extension.info, chainId: chain.chainId, type: chain.type };
  return encodeSIWxHeader(await createSIWxPayload(info, account, url));
}

/**
 * One request to `url` by the official client with its sign-in hook; rejects if it paid
 * instead of signing in.
 */
export function signIn(url: string): () => Promise<Response> {
  const client = payingFetchV2(PAYER.privateKey, fetch, { siwx: true });
  return async () => {
    const response = await client(url);
    if (response.headers.has("PAYMENT-RESPONSE")) {
      throw new Error(`bench: the client paid ${url} instead of signing in`);
    }
    return response;
  };
}
