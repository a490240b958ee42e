import { CAIP2_NETWORK } from "../pricing";

/**
 * `CHAIN_RPC_URLS`: where the paywall reads each network's chain to resolve a pending payment,
 * a JSON object from CAIP-2 network to JSON-RPC URL, e.g.
 * `{"eip155:8453":"env:BASE_RPC_URL","eip155:84532":"http://127.0.0.1:8545"}`. A value
 * `env:NAME` is read from the secret `NAME` (RPC URLs often carry API keys), as facilitator
 * headers are (src/payments/endpoints.ts). Unset or `{}`: no network is read, and a payment
 * whose settlement answer was lost stays pending until an operator resolves it.
 */

/** The RPC URL of each network, or the problems found (each naming the variable and key). */
export function chainRpcUrls(
  text: string | undefined,
  secret: (name: string) => string | undefined,
): { ok: true; urls: Record<string, string> } | { ok: false; problems: string[] } {
  if (!text?.trim()) return { ok: true, urls: {} };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      ok: false,
      problems: ['CHAIN_RPC_URLS is not JSON (e.g. {"eip155:8453":"https://…"})'],
    };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, problems: ["CHAIN_RPC_URLS must be a JSON object of network → URL"] };
  }
  const problems: string[] = [];
  const urls: Record<string, string> = {};
  for (const [network, value] of Object.entries(json as Record<string, unknown>)) {
    if (!CAIP2_NETWORK.test(network)) {
      problems.push(`CHAIN_RPC_URLS: ${JSON.stringify(network)} is not a CAIP-2 network id`);
      continue;
    }
    if (typeof value !== "string") {
      problems.push(`CHAIN_RPC_URLS.${network}: must be a URL or env:SECRET_NAME`);
      continue;
    }
    let url = value;
    if (value.startsWith("env:")) {
      const name = value.slice("env:".length);
      const resolved = secret(name);
      if (!resolved) {
        problems.push(`CHAIN_RPC_URLS.${network}: the secret ${name} is not set`);
        continue;
      }
      url = resolved;
    }
    if (!isHttpUrl(url)) {
      // A secret's value is never repeated in a message.
      const shown = value.startsWith("env:") ? `the secret ${value.slice(4)}` : value;
      problems.push(`CHAIN_RPC_URLS.${network}: ${shown} is not an http(s) URL`);
      continue;
    }
    urls[network] = url;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, urls };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
