/**
 * The crawler operator's tool for the local stack: an Ed25519 key, its Web Bot Auth key
 * directory served on 127.0.0.1, requests signed with it (see crawler-signer.ts), x402 payments
 * made with the official `@x402/fetch` client and covered by the signature, and prepaid credit
 * bought at the paywall's `/__x402/crawl-credit`. As a script (`npm run crawl -- …`):
 *
 *   node dev/crawler.ts <url> [--max-price "USD 0.05" | --exact-price "USD 0.01"] [--pay]
 *                             [--top-up 1.00] [--key key.json] [--agent GPTBot]
 *
 * serves the directory, optionally buys credit (`--top-up`, paid by the local payer), sends one
 * signed GET (paying with x402 when `--pay`), prints the answer, and stops the directory. With
 * `--key` the key is kept in that file (created when missing), so the crawler keeps its identity,
 * and its credit, across runs. The paywall must be run with WEB_BOT_AUTH_HTTP_LOOPBACK=true (the
 * local stack does) to fetch a directory served over plain HTTP.
 */
import { createServer } from "node:http";
import { listenLoopback } from "./http.ts";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Hex } from "viem";
import { PAYER } from "./chain.ts";
import { payingFetchV2 } from "./clients.ts";
import {
  exportCrawlerKey,
  generateCrawlerKey,
  importCrawlerKey,
  keyDirectory,
  signHeaders,
} from "./crawler-signer.ts";
import type { CrawlerKey, SignOptions } from "./crawler-signer.ts";

export * from "./crawler-signer.ts";

const DIRECTORY_PATH = "/.well-known/http-message-signatures-directory";

/** A key directory being served. */
export interface RunningDirectory {
  /** The origin to send in `Signature-Agent` (`http://127.0.0.1:N`). */
  origin: string;
  /** How many times the directory was fetched. */
  fetches(): number;
  stop(): Promise<void>;
}

/**
 * Serves the key directory of `keys` on 127.0.0.1 (port 0: any free port). `body` replaces the
 * JWKS, to try what a paywall does with a malformed directory.
 */
export async function serveKeyDirectory(
  keys: CrawlerKey[],
  options: { port?: number; body?: string } = {},
): Promise<RunningDirectory> {
  let fetches = 0;
  const body = options.body ?? JSON.stringify(keyDirectory(keys));
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === DIRECTORY_PATH) {
      fetches++;
      res.writeHead(200, {
        "content-type": "application/http-message-signatures-directory+json",
        "cache-control": "max-age=300",
      });
      res.end(body);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  const { url, stop } = await listenLoopback(server, options.port);
  return { origin: url, fetches: () => fetches, stop };
}

/** A crawler: its key, its served directory, and fetches that sign every request. */
export interface DevCrawler {
  key: CrawlerKey;
  directory: RunningDirectory;
  /** Sends one signed request; `sign` bends the signature (tests build bad ones with it). */
  fetch(
    input: string | Request,
    init?: RequestInit,
    sign?: Partial<SignOptions>,
  ): Promise<Response>;
  /** A fetch that pays x402 challenges with `payerKey`, each retry signed over its payment. */
  paying(payerKey: Hex): (input: string, init?: RequestInit) => Promise<Response>;
  /** Buys `usd` (e.g. "1.00") of prepaid credit at the paywall at `workerUrl`. */
  topUp(workerUrl: string, usd: string, payerKey: Hex): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts a crawler with `key` (a fresh one when omitted) and its key directory. */
export async function startDevCrawler(key?: CrawlerKey): Promise<DevCrawler> {
  const crawlerKey = key ?? (await generateCrawlerKey());
  const directory = await serveKeyDirectory([crawlerKey]);
  const signedFetch: DevCrawler["fetch"] = async (input, init = {}, sign = {}) => {
    const request = new Request(input, init);
    const headers = await signHeaders(
      crawlerKey,
      { method: request.method, url: request.url, headers: request.headers },
      { signatureAgent: directory.origin, ...sign },
    );
    const body = request.method === "GET" || request.method === "HEAD" ? null : request.body;
    return fetch(request.url, { method: request.method, headers, body, redirect: "manual" });
  };
  const paying = (payerKey: Hex) =>
    payingFetchV2(payerKey, ((input: string | Request, init?: RequestInit) =>
      signedFetch(input, init)) as typeof fetch);
  return {
    key: crawlerKey,
    directory,
    fetch: signedFetch,
    paying,
    topUp: (workerUrl, usd, payerKey) =>
      paying(payerKey)(`${workerUrl}/__x402/crawl-credit?amount=${encodeURIComponent(usd)}`, {
        method: "POST",
      }),
    stop: () => directory.stop(),
  };
}

async function loadKey(file: string | undefined): Promise<CrawlerKey> {
  if (file && existsSync(file)) return importCrawlerKey(JSON.parse(readFileSync(file, "utf8")));
  const key = await generateCrawlerKey();
  if (file) writeFileSync(file, JSON.stringify(await exportCrawlerKey(key)), { mode: 0o600 });
  return key;
}

async function print(response: Response): Promise<void> {
  console.log(`HTTP ${response.status}`);
  for (const [name, value] of response.headers) {
    if (name.startsWith("crawler-") || name.startsWith("payment-"))
      console.log(`${name}: ${value}`);
  }
  console.log((await response.text()).slice(0, 2000));
}

async function main(args: string[]): Promise<void> {
  const flags = new Set(["--pay"]);
  const url = args.find(
    (a, i) => !a.startsWith("--") && !(args[i - 1]?.startsWith("--") && !flags.has(args[i - 1]!)),
  );
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at === -1 ? undefined : args[at + 1];
  };
  if (!url) {
    console.error(
      'usage: node dev/crawler.ts <url> [--max-price "USD 0.05" | --exact-price "USD 0.01"] [--pay] [--top-up 1.00] [--key key.json] [--agent GPTBot]',
    );
    process.exitCode = 2;
    return;
  }
  const crawler = await startDevCrawler(await loadKey(option("--key")));
  try {
    console.log(`key ${crawler.key.thumbprint}, directory ${crawler.directory.origin}`);
    const topUp = option("--top-up");
    if (topUp) {
      console.log(`buying USD ${topUp} of crawl credit …`);
      await print(await crawler.topUp(new URL(url).origin, topUp, PAYER.privateKey));
    }
    const headers: Record<string, string> = {
      "user-agent": `Mozilla/5.0 (compatible; ${option("--agent") ?? "DevCrawler"}/1.0)`,
    };
    const max = option("--max-price");
    const exact = option("--exact-price");
    if (max) headers["crawler-max-price"] = max;
    if (exact) headers["crawler-exact-price"] = exact;
    const send = args.includes("--pay") ? crawler.paying(PAYER.privateKey) : crawler.fetch;
    await print(await send(url, { headers }));
  } finally {
    await crawler.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(process.argv.slice(2));
}
