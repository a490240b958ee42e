import { inject } from "vitest";
import { importCrawlerKey, signHeaders } from "../../dev/crawler-signer";
import type { CrawlerKey, SignOptions } from "../../dev/crawler-signer";
import { call } from "./helpers";

/** Shared pieces of the pay-per-crawl workerd tests: keys, tables, signed requests. */

export const BASE = "https://paywall.test";
export const BROWSER_UA =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

let keys: Promise<CrawlerKey[]> | undefined;

/** The two crawler keys whose directories the global setup serves. */
export function crawlerKeys(): Promise<CrawlerKey[]> {
  keys ??= Promise.all(
    (JSON.parse(inject("crawlerKeys")) as JsonWebKey[]).map((jwk) => importCrawlerKey(jwk)),
  );
  return keys;
}

/** A price table with crawler policies: devbot (key 1) is charged its own price, gptbot (key 2) allowed. */
export function crawlTable(crawlers: Record<string, unknown> = {}): Record<string, unknown> {
  const [one, two] = inject("crawlerDirectories");
  return {
    version: "crawl-test",
    rules: [
      { path: "/robots.txt", free: true },
      { path: "/api/free/*", free: true },
      { path: "/articles/*", price: "$0.01" },
      { path: "/blog/*", free: true, crawlerPrice: "$0.002" },
      { path: "/status/*", free: true, crawlerPrice: "$0.002" },
    ],
    crawlers: {
      directories: { devbot: [one], gptbot: [two] },
      policies: { devbot: { action: "charge", price: "$0.005" }, gptbot: { action: "allow" } },
      unverified: { action: "block" },
      credit: { min: "$0.01", max: "$1.00" },
      ...crawlers,
    },
  };
}

let nextFresh = 2;

/** A key (2–23) no other test has used: its credit starts at zero. */
export function freshKey(): number {
  if (nextFresh > 23) throw new Error("out of fresh crawler keys; serve more in crawler-setup.ts");
  return nextFresh++;
}

/** Options of a signed request. */
export interface Signed {
  key?: number;
  method?: string;
  headers?: Record<string, string>;
  sign?: Partial<SignOptions>;
  /** The directory origin to name; defaults to the key's own. */
  agent?: string;
  /** The scheme and host to send to; defaults to {@link BASE}. */
  base?: string;
}

/** Builds a request signed by crawler key `key` (default 0), naming its directory. */
export async function signedRequest(path: string, options: Signed = {}): Promise<Request> {
  const all = await crawlerKeys();
  const index = options.key ?? 0;
  const url = `${options.base ?? BASE}${path}`;
  const method = options.method ?? "GET";
  const agent = options.agent ?? inject("crawlerDirectories")[index === 1 ? 1 : 0]!;
  const headers = await signHeaders(
    all[index]!,
    { method, url, headers: { "user-agent": "DevBot/1.0", ...options.headers } },
    { signatureAgent: agent, ...options.sign },
  );
  return new Request(url, { method, headers });
}

/** Sends a signed request through the Worker. */
export async function crawl(path: string, options: Signed = {}): Promise<Response> {
  return call(await signedRequest(path, options));
}
