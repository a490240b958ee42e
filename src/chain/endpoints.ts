import { CAIP2_NETWORK } from "../pricing";

/**
 * `CHAIN_RPC_URLS`: where the paywall reads each network's chain to resolve a pending payment,
 * a JSON object from CAIP-2 network to JSON-RPC URL, e.g.
 * `{"eip155:8453":"env:BASE_RPC_URL","eip155:84532":"http://127.0.0.1:8545"}`. A value
 * `env:NAME` is read from the secret `NAME` (RPC URLs often carry API keys), as facilitator
 * headers are (src/payments/endpoints.ts). A value may also be an object
 * `{"url": "env:BASE_RPC_URL", "maxLogBlocks": 20000}` to bound the log search of that network
 * (default 100,000 blocks back from the latest). Unset or `{}`: no network is read, and a
 * payment whose settlement answer was lost stays pending until an operator resolves it.
 */

/** One network's node: its URL, or its URL with the log search's span in blocks. */
export type ChainRpc = string | { url: string; maxLogBlocks: number };

/** The largest `maxLogBlocks` accepted (providers refuse far less; the search pages anyway). */
const MAX_LOG_BLOCKS = 10_000_000;

/** The RPC URL of each network, or the problems found (each naming the variable and key). */
export function chainRpcUrls(
  text: string | undefined,
  secret: (name: string) => string | undefined,
): { ok: true; urls: Record<string, ChainRpc> } | { ok: false; problems: string[] } {
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
  const urls: Record<string, ChainRpc> = {};
  for (const [network, entry] of Object.entries(json as Record<string, unknown>)) {
    if (!CAIP2_NETWORK.test(network)) {
      problems.push(`CHAIN_RPC_URLS: ${JSON.stringify(network)} is not a CAIP-2 network id`);
      continue;
    }
    const options = readOptions(network, entry, problems);
    if (!options) continue;
    const value = options.url;
    if (typeof value !== "string") {
      problems.push(
        `CHAIN_RPC_URLS.${network}: must be a URL, env:SECRET_NAME or {"url", "maxLogBlocks"}`,
      );
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
    urls[network] =
      options.maxLogBlocks === undefined ? url : { url, maxLogBlocks: options.maxLogBlocks };
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, urls };
}

/** A value's URL (not yet checked) and span, or undefined with the problem noted. */
function readOptions(
  network: string,
  entry: unknown,
  problems: string[],
): { url: unknown; maxLogBlocks?: number } | undefined {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return { url: entry };
  const { url, maxLogBlocks, ...rest } = entry as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) {
    problems.push(`CHAIN_RPC_URLS.${network}: unknown key ${JSON.stringify(unknownKeys[0])}`);
    return undefined;
  }
  if (maxLogBlocks === undefined) return { url };
  if (
    typeof maxLogBlocks !== "number" ||
    !Number.isInteger(maxLogBlocks) ||
    maxLogBlocks < 1 ||
    maxLogBlocks > MAX_LOG_BLOCKS
  ) {
    problems.push(
      `CHAIN_RPC_URLS.${network}.maxLogBlocks: must be a whole number of blocks from 1 to ${MAX_LOG_BLOCKS}`,
    );
    return undefined;
  }
  return { url, maxLogBlocks };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
