/**
 * A signing crawler for the local stack: an Ed25519 key, its Web Bot Auth key directory served on
 * 127.0.0.1, and signed requests (see crawler-signer.ts). As a script:
 *
 *   node dev/crawler.ts <url> [--max-price "USD 0.05" | --exact-price "USD 0.01"] [--key file.json]
 *
 * serves the directory, sends one signed GET, prints the answer, and stops the directory. With
 * `--key` the key is kept in that file (created when missing), so the crawler keeps its identity
 * (and any credit bought with it) across runs. The paywall must be allowed to fetch key
 * directories over plain HTTP from loopback for this to verify.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
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

/** Serves the key directory of `keys` on 127.0.0.1 (port 0: any free port). */
export async function serveKeyDirectory(keys: CrawlerKey[], port = 0): Promise<RunningDirectory> {
  let fetches = 0;
  const body = JSON.stringify(keyDirectory(keys));
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
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${address.port}`,
    fetches: () => fetches,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A crawler: its key, its served directory, and a fetch that signs every request. */
export interface DevCrawler {
  key: CrawlerKey;
  directory: RunningDirectory;
  fetch(url: string, init?: RequestInit, sign?: Partial<SignOptions>): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts a crawler with `key` (a fresh one when omitted) and its key directory. */
export async function startDevCrawler(key?: CrawlerKey): Promise<DevCrawler> {
  const crawlerKey = key ?? (await generateCrawlerKey());
  const directory = await serveKeyDirectory([crawlerKey]);
  return {
    key: crawlerKey,
    directory,
    async fetch(url, init = {}, sign = {}) {
      const method = init.method ?? "GET";
      const headers = await signHeaders(
        crawlerKey,
        { method, url, ...(init.headers && { headers: init.headers }) },
        { signatureAgent: directory.origin, ...sign },
      );
      return fetch(url, { ...init, method, headers, redirect: "manual" });
    },
    stop: () => directory.stop(),
  };
}

async function loadKey(file: string | undefined): Promise<CrawlerKey> {
  if (file && existsSync(file)) return importCrawlerKey(JSON.parse(readFileSync(file, "utf8")));
  const key = await generateCrawlerKey();
  if (file) writeFileSync(file, JSON.stringify(await exportCrawlerKey(key)), { mode: 0o600 });
  return key;
}

async function main(args: string[]): Promise<void> {
  const url = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at === -1 ? undefined : args[at + 1];
  };
  if (!url) {
    console.error('usage: node dev/crawler.ts <url> [--max-price "USD 0.05"] [--key key.json]');
    process.exitCode = 2;
    return;
  }
  const crawler = await startDevCrawler(await loadKey(option("--key")));
  try {
    const headers: Record<string, string> = { "user-agent": "DevCrawler/1.0" };
    const max = option("--max-price");
    const exact = option("--exact-price");
    if (max) headers["crawler-max-price"] = max;
    if (exact) headers["crawler-exact-price"] = exact;
    console.log(`key ${crawler.key.thumbprint}, directory ${crawler.directory.origin}`);
    const response = await crawler.fetch(url, { headers });
    console.log(`HTTP ${response.status}`);
    for (const [name, value] of response.headers) {
      if (name.startsWith("crawler-") || name.startsWith("payment-"))
        console.log(`${name}: ${value}`);
    }
    console.log((await response.text()).slice(0, 2000));
  } finally {
    await crawler.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(process.argv.slice(2));
}
