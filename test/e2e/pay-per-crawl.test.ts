import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, PAYER } from "../../dev/chain.ts";
import { receiptOf } from "../../dev/clients.ts";
import { serveKeyDirectory, startDevCrawler } from "../../dev/crawler.ts";
import type { DevCrawler, RunningDirectory } from "../../dev/crawler.ts";
import { startStack } from "../../dev/stack.ts";
import type { RunningStack } from "../../dev/stack.ts";
import { DEV_SECRETS } from "../../dev/stack.ts";
import { ensureChromium, launchChromium } from "./chromium.ts";
import { overflowing, overlapping, pageOverflows } from "./geometry.ts";
import { balances } from "./stack.ts";

/**
 * Pay-per-crawl on the real stack: crawlers sign with Web Bot Auth (Ed25519 keys, key
 * directories served on loopback), the paywall under `wrangler dev` verifies them and applies the
 * table's policies, charged crawlers pay in USDC through x402 (official client, official
 * facilitator, Circle's USDC on anvil) or from prepaid credit held in a Durable Object. Every test
 * checks the chain: exactly the price moves, once, or nothing does.
 */

const BROWSER =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
const DEVBOT_PRICE = 3000n; // "$0.003", devbot's own price

let stack: RunningStack;
let stateDir = "";
let devbot: DevCrawler;
let gptbot: DevCrawler;
let bytespider: DevCrawler;
/** A crawler no directory binding names: known by its key directory's host and its key. */
let stranger: DevCrawler;
let malformed: RunningDirectory;
let dead = "";

function table(): unknown {
  return {
    version: "pay-per-crawl-e2e",
    defaults: { network: "eip155:84532", maxTimeoutSeconds: 60 },
    rules: [
      { path: "/robots.txt", free: true },
      { path: "/api/free/*", free: true, crawlerPrice: "$0.002", mimeType: "application/json" },
      { path: "/api/*", price: "$0.001", mimeType: "application/json" },
      { path: "/articles/:slug", methods: ["GET"], price: "$0.01" },
    ],
    crawlers: {
      directories: {
        devbot: [devbot.directory.origin],
        gptbot: [gptbot.directory.origin],
        bytespider: [bytespider.directory.origin],
      },
      policies: {
        devbot: { action: "charge", price: "$0.003" },
        gptbot: { action: "allow" },
        bytespider: { action: "block" },
      },
      unverified: { action: "block" },
      credit: { min: "$0.01", max: "$1.00" },
    },
  };
}

beforeAll(async () => {
  [devbot, gptbot, bytespider, stranger] = await Promise.all([
    startDevCrawler(),
    startDevCrawler(),
    startDevCrawler(),
    startDevCrawler(),
  ]);
  malformed = await serveKeyDirectory([], { body: '{"keys": "not a list"}' });
  dead = `http://127.0.0.1:${await freePort()}`;
  stateDir = mkdtempSync(join(tmpdir(), "x402-e2e-crawl-"));
  const pricesFile = join(stateDir, "prices.json");
  writeFileSync(pricesFile, JSON.stringify(table()));
  stack = await startStack({
    ports: { chain: 0, facilitator: 0, origin: 0, worker: 0, inspector: 0 },
    stateDir,
    pricesFile,
    vars: { WEB_BOT_AUTH_HTTP_LOOPBACK: "true" },
  });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([devbot, gptbot, bytespider, stranger].map((c) => c?.stop()));
  await malformed?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const url = (path: string) => `${stack.workerUrl}${path}`;
const ua = (agent: string) => ({ "user-agent": `Mozilla/5.0 (compatible; ${agent}/1.0)` });

describe("a crawler charged its own price", () => {
  it("should quote crawler-price, then move exactly that price once when the crawler pays with x402", async () => {
    const path = "/api/free/paid-by-devbot";
    const quote = await devbot.fetch(url(path), { headers: ua("DevBot") });
    expect(quote.status).toBe(402);
    expect(quote.headers.get("crawler-price")).toBe("USD 0.003");
    expect(stack.originHits(path)).toBe(0);

    const before = await balances(stack);
    const paid = await devbot.paying(PAYER.privateKey)(url(path), { headers: ua("DevBot") });
    expect(paid.status).toBe(200);
    expect(paid.headers.get("crawler-charged")).toBe("USD 0.003");
    expect(receiptOf(paid)).toMatchObject({ success: true });
    const after = await balances(stack);
    expect(before.payer - after.payer).toBe(DEVBOT_PRICE);
    expect(after.payTo - before.payTo).toBe(DEVBOT_PRICE);
    expect(stack.originHits(path)).toBe(1);
  });

  it("should buy credit once on chain, then crawl 20 pages without a 402, debiting exactly", async () => {
    const before = await balances(stack);
    const bought = await devbot.topUp(stack.workerUrl, "0.06", PAYER.privateKey);
    expect(bought.status).toBe(200);
    expect(await bought.json()).toMatchObject({ added: "USD 0.06", balance: "USD 0.06" });
    const afterTopUp = await balances(stack);
    expect(before.payer - afterTopUp.payer).toBe(60_000n);
    expect(afterTopUp.payTo - before.payTo).toBe(60_000n);

    // An origin failure is not debited.
    const failed = await devbot.fetch(url("/api/fail"), {
      headers: { ...ua("DevBot"), "crawler-max-price": "USD 0.01" },
    });
    expect(failed.status).toBe(500);
    expect(failed.headers.get("crawler-charged")).toBeNull();

    const remaining: string[] = [];
    for (let i = 0; i < 20; i++) {
      const page = await devbot.fetch(url(`/api/free/page-${i}`), {
        headers: { ...ua("DevBot"), "crawler-max-price": "USD 0.01" },
      });
      expect(page.status).toBe(200);
      expect(page.headers.get("crawler-charged")).toBe("USD 0.003");
      remaining.push(page.headers.get("crawler-credit-remaining") ?? "");
      expect(stack.originHits(`/api/free/page-${i}`)).toBe(1);
    }
    expect(remaining[0]).toBe("USD 0.057");
    expect(remaining[19]).toBe("USD 0.00");
    // The chain moved once, for the top-up, and not for any page.
    expect(await balances(stack)).toEqual(afterTopUp);

    const empty = await devbot.fetch(url("/api/free/page-20"), {
      headers: { ...ua("DevBot"), "crawler-max-price": "USD 0.01" },
    });
    expect(empty.status).toBe(402);
    expect(empty.headers.get("crawler-price")).toBe("USD 0.003");
    expect(stack.originHits("/api/free/page-20")).toBe(0);
  });
});

describe("allow, block and unverified", () => {
  it("should let a signed allowed crawler read a priced article free", async () => {
    const before = await balances(stack);
    const response = await gptbot.fetch(url("/articles/hello-x402"), { headers: ua("GPTBot") });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Hello, x402");
    expect(await balances(stack)).toEqual(before);
  });

  it("should answer a blocked crawler 403 CrawlerForbidden", async () => {
    const response = await bytespider.fetch(url("/api/free/blocked"), {
      headers: ua("Bytespider"),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("crawler-error")).toBe("CrawlerForbidden");
    expect(stack.originHits("/api/free/blocked")).toBe(0);
  });

  it("should give a fake GPTBot without a signature the unverified policy", async () => {
    const response = await fetch(url("/articles/hello-x402"), { headers: ua("GPTBot") });
    expect(response.status).toBe(403);
    expect(response.headers.get("crawler-error")).toBe("CrawlerForbidden");
  });

  it("should let a person with a browser read free pages free", async () => {
    const before = await balances(stack);
    for (const path of ["/", "/robots.txt", "/api/free/for-people"]) {
      const response = await fetch(url(path), { headers: { "user-agent": BROWSER } });
      expect(response.status).toBe(200);
      expect(response.headers.get("crawler-charged")).toBeNull();
    }
    expect(await balances(stack)).toEqual(before);
  });
});

describe("signatures and directories that prove nothing", () => {
  it("should refuse a forged signature", async () => {
    const genuine = await devbot.fetch(url("/api/free/forged"), { headers: ua("DevBot") });
    expect(genuine.status).toBe(402);
    // The same key directory and keyid, signed by another key: a forgery.
    const forger = await startDevCrawler();
    try {
      const response = await forger.fetch(
        url("/api/free/forged"),
        { headers: ua("DevBot") },
        {
          signatureAgent: devbot.directory.origin,
          keyid: devbot.key.thumbprint,
        },
      );
      expect(response.status).toBe(400);
      expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    } finally {
      await forger.stop();
    }
    expect(stack.originHits("/api/free/forged")).toBe(0);
  });

  it("should refuse an expired signature", async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await devbot.fetch(
      url("/api/free/expired"),
      { headers: ua("DevBot") },
      {
        created: now - 600,
        expires: now - 300,
      },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await response.text()).toContain("expired");
  });

  it("should answer 502 InternalError for an unreachable directory and 400 for a malformed one", async () => {
    const before = await balances(stack);
    const unreachable = await devbot.fetch(
      url("/api/free/dead"),
      { headers: ua("DevBot") },
      {
        signatureAgent: dead,
      },
    );
    expect(unreachable.status).toBe(502);
    expect(unreachable.headers.get("crawler-error")).toBe("InternalError");
    const bad = await devbot.fetch(
      url("/api/free/malformed"),
      { headers: ua("DevBot") },
      {
        signatureAgent: malformed.origin,
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await bad.text()).toContain("JWKS");
    expect(stack.originHits("/api/free/dead") + stack.originHits("/api/free/malformed")).toBe(0);
    expect(await balances(stack)).toEqual(before);
  });
});

describe("crawlers on the operator's dashboard", () => {
  beforeAll(() => ensureChromium(), 900_000);

  it("should show each crawler by name with its key as detail, credit as its own line, and no label overflowing", async () => {
    // The stranger buys credit and pays a page with x402: both under its directory's host.
    expect((await stranger.topUp(stack.workerUrl, "0.05", PAYER.privateKey)).status).toBe(200);
    const page = await stranger.paying(PAYER.privateKey)(url("/api/free/stranger-page"), {
      headers: ua("StrangerBot"),
    });
    expect(page.status).toBe(200);
    const strangerHost = new URL(stranger.directory.origin).host;
    const admin = { Authorization: `Bearer ${DEV_SECRETS.ADMIN_TOKEN}` };
    const revenue = (await (
      await fetch(url("/__x402/admin/revenue?days=1"), { headers: admin })
    ).json()) as {
      byRoute: Array<{ key: string }>;
      byCrawler: Array<{ key: string; detail: string; count: number }>;
      credit: Array<{ count: number }>;
    };
    expect(revenue.byRoute.map((b) => b.key)).not.toContain("/__x402/crawl-credit");
    expect(revenue.credit.reduce((n, b) => n + b.count, 0)).toBe(2);
    const strangers = revenue.byCrawler.filter((b) => b.key === strangerHost);
    expect(strangers).toHaveLength(1);
    expect(strangers[0]!.count).toBe(2);
    expect(revenue.byCrawler.find((b) => b.key === "devbot")?.detail).toMatch(
      /^[A-Za-z0-9_-]{43}$/,
    );

    const browser = await launchChromium();
    try {
      const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await tab.setExtraHTTPHeaders(admin);
      expect((await tab.goto(url("/__x402/dashboard")))?.status()).toBe(200);
      const bars = tab.locator("#chart-crawler .bar-row");
      expect(
        await bars.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-crawler"))),
      ).toEqual(expect.arrayContaining(["devbot", strangerHost]));
      expect(await tab.locator('#chart-route [data-route="/__x402/crawl-credit"]').count()).toBe(0);
      expect(await tab.locator('[data-testid="credit-sold"]').getAttribute("data-count")).toBe("2");
      const funnelCrawlers = await tab
        .locator('[data-testid="funnel-line"]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-crawler")));
      expect(funnelCrawlers).toEqual(expect.arrayContaining(["devbot", strangerHost]));
      const output = join(fileURLToPath(new URL("../..", import.meta.url)), "test-results");
      mkdirSync(output, { recursive: true });
      await tab.screenshot({ path: join(output, "dashboard-crawlers.png"), fullPage: true });
      const labels = ".bar-label, .bar-value, td, th, .figure";
      expect(await overflowing(tab, labels, "section")).toEqual([]);
      expect(await overlapping(tab, ".bar-row", ".bar-label", ".bar-track")).toEqual([]);
      expect(await overlapping(tab, ".bar-row", ".bar-track", ".bar-value")).toEqual([]);
      expect(await pageOverflows(tab)).toBe(false);
    } finally {
      await browser.close();
    }
  });
});
