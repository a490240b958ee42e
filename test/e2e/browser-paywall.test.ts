import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { generatePrivateKey } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { USDC_ADDRESS } from "../../dev/usdc.ts";
import { ensureChromium, launchChromium } from "./chromium.ts";
import { overflowing, pageOverflows, textLines } from "./geometry.ts";
import { balances, useStack } from "./stack.ts";
import { injectWallet } from "./test-wallet.ts";
import type { WalletOptions } from "./test-wallet.ts";

/**
 * The browser paywall in real headless Chromium against the real stack: a person opens a priced
 * article, the 402 page finds the injected wallet (EIP-6963 or `window.ethereum`), switches its
 * chain, signs the EIP-3009 authorization (viem, the dev payer's key), pays and sees the article;
 * a reload goes through on the session cookie with no second payment (the chain moved once).
 * Every failure leaves the chain alone and says why. Screenshots: test-results/browser-paywall/.
 *
 * Chromium counts http://127.0.0.1 as a secure context and keeps the `Secure` session cookie
 * there (checked with Chromium 156), so the browser talks to the stack's own URL.
 */

const OUTPUT = join(
  fileURLToPath(new URL("../..", import.meta.url)),
  "test-results",
  "browser-paywall",
);
const ARTICLE = "/articles/hello-x402";
const ARTICLE_PRICE = 10_000n; // "$0.01"
const API_PRICE = 1_000n; // "$0.001"
const BASE_SEPOLIA = 84532;

const stack = useStack({
  prices: {
    version: "e2e-browser",
    defaults: { network: "eip155:84532" },
    rules: [
      {
        path: "/articles/:slug",
        price: "$0.01",
        description: "An article of the demo site",
        session: { ttl: "1h", scope: "resource" },
      },
      { path: "/api/*", price: "$0.001", description: "A JSON report", title: "The daily report" },
    ],
    default: { free: true },
    brand: { name: "Demo Times", colour: "#0b6e4f" },
  },
});

let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  ensureChromium();
  mkdirSync(OUTPUT, { recursive: true });
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
});

const url = (path: string) => stack.get().workerUrl + path;

/** A fresh browser context (no cookies) with the test wallet, or with none. */
async function open(wallet?: Partial<WalletOptions>, viewport = { width: 1280, height: 720 }) {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const log = wallet
    ? await injectWallet(context, stack.get().rpcUrl, {
        key: PAYER.privateKey,
        chainId: BASE_SEPOLIA,
        chains: [1, BASE_SEPOLIA],
        eip6963: true,
        legacy: false,
        ...wallet,
      })
    : undefined;
  const page = await context.newPage();
  return { context, page, log };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
}

const statusText = (page: Page) => page.locator("#x402-status").textContent();

describe("browser paywall", () => {
  it("should let a person pay with a wallet, show the article, and let a reload through", async () => {
    const { context, page, log } = await open({ chainId: 1 });
    const start = await balances(stack.get());

    const challenge = await page.goto(url(ARTICLE));
    expect(challenge?.status()).toBe(402);
    await expect(page.locator(".price").textContent()).resolves.toBe("$0.01");
    await expect(page.locator("body").textContent()).resolves.toContain("Base Sepolia");
    await expect(page.locator("h1").textContent()).resolves.toBe("Hello x402");
    await shot(page, "1-payment-required");
    expect(await layoutProblems(page)).toEqual([]);

    await page.getByRole("button", { name: "Pay $0.01 with Test Wallet" }).click();
    await page.getByRole("heading", { name: "Hello, x402" }).waitFor();
    expect(await page.locator("body").textContent()).toContain(`Paid by ${PAYER.address}`);
    await shot(page, "2-paid-article");

    const paid = await balances(stack.get());
    expect(start.payer - paid.payer).toBe(ARTICLE_PRICE);
    expect(paid.payTo - start.payTo).toBe(ARTICLE_PRICE);
    const methods = await log!.methods();
    expect(methods).toContain("wallet_switchEthereumChain");
    expect(methods).toContain("eth_call");
    expect(methods.filter((m) => m === "eth_signTypedData_v4")).toHaveLength(1);
    const [typed] = log!.signed;
    expect(typed?.domain).toStrictEqual({
      name: "USDC",
      version: "2",
      chainId: BASE_SEPOLIA,
      verifyingContract: USDC_ADDRESS,
    });
    const message = typed?.message ?? {};
    expect(message).toMatchObject({ from: PAYER.address, to: stack.get().payTo, value: "10000" });
    expect(Number(message["validBefore"]) - Number(message["validAfter"])).toBe(600 + 60);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name.startsWith("x402-session-"))).toMatchObject({
      httpOnly: true,
      secure: true,
    });

    const reloaded = await page.reload();
    expect(reloaded?.status()).toBe(200);
    await page.getByRole("heading", { name: "Hello, x402" }).waitFor();
    await shot(page, "3-reloaded-on-session");
    expect(await balances(stack.get())).toStrictEqual(paid);
    expect(log!.signed).toHaveLength(1);
    expect(stack.get().originHits(ARTICLE)).toBe(2);
  });

  it("should pay with window.ethereum and show a JSON answer in a pre", async () => {
    const { page } = await open({ eip6963: false, legacy: true });
    const start = await balances(stack.get());
    expect((await page.goto(url("/api/report")))?.status()).toBe(402);
    await page.getByRole("button", { name: "Pay $0.001 with your wallet" }).click();
    const content = page.locator("pre#x402-content");
    await content.waitFor();
    expect(JSON.parse((await content.textContent()) ?? "")).toMatchObject({
      paid: true,
      path: "/api/report",
      payer: PAYER.address,
    });
    expect(await page.locator("main").textContent()).toMatch(/Transaction 0x[0-9a-f]{64}/);
    await shot(page, "4-paid-json");
    expect(start.payer - (await balances(stack.get())).payer).toBe(API_PRICE);
  });
  it("should resend the same payment when the answer is lost, and charge once", async () => {
    const { page, log } = await open({});
    const start = await balances(stack.get());
    let dropped = 0;
    await page.route(url("/api/lost"), async (route) => {
      if (route.request().headers()["payment-signature"] && dropped === 0) {
        dropped += 1;
        await route.fetch(); // the paywall settles, then the answer never reaches the page
        return route.abort("connectionreset");
      }
      return route.continue();
    });
    await page.goto(url("/api/lost"));
    await page.getByRole("button", { name: "Pay $0.001 with Test Wallet" }).click();
    await page.locator("pre#x402-content").waitFor();
    expect(await page.locator("pre#x402-content").textContent()).toContain('"paid": true');
    expect(dropped).toBe(1);
    expect(log!.signed).toHaveLength(1);
    expect(start.payer - (await balances(stack.get())).payer).toBe(API_PRICE);
  });
});

/** What overflows on the 402 page: its text blocks, the address, the buttons, the page. */
async function layoutProblems(page: Page): Promise<string[]> {
  const problems = await overflowing(page, "main h1, main p, main code, main button", "main");
  if (await pageOverflows(page)) problems.push("the page is wider than the window");
  return problems;
}

describe("browser paywall layout", () => {
  it("should fit a phone's width, name the page and break the address only inside its digits", async () => {
    const { page } = await open({}, { width: 360, height: 760 });
    expect((await page.goto(url("/articles/why-edge-paywalls-work")))?.status()).toBe(402);
    await page.getByRole("button", { name: /^Pay \$0\.01/ }).waitFor();
    await shot(page, "10-phone-width");
    expect(await page.locator("h1").textContent()).toBe("Why edge paywalls work");
    expect(await page.locator("#x402-about").textContent()).toBe("An article of the demo site");
    expect(await page.locator("#x402-site").textContent()).toBe("Demo Times");
    expect(await layoutProblems(page)).toEqual([]);
    const lines = await textLines(page, "#x402-payee");
    expect(lines.join("")).toBe(stack.get().payTo);
    expect(lines.length).toBeGreaterThan(1); // it did have to wrap at this width
    expect(lines[0]).toMatch(/^0x[0-9a-fA-F]{4,}$/);
    for (const line of lines.slice(1)) expect(line).toMatch(/^[0-9a-fA-F]{4,}$/);
    // The operator's colour on the pay button, with text that reads on it.
    const colours = await page
      .locator("button")
      .first()
      .evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]);
    expect(colours).toEqual(["rgb(11, 110, 79)", "rgb(255, 255, 255)"]);
  });

  it("should name a page by its rule's title", async () => {
    const { page } = await open();
    expect((await page.goto(url("/api/summary")))?.status()).toBe(402);
    expect(await page.locator("h1").textContent()).toBe("The daily report");
    expect(await page.locator("#x402-about").textContent()).toBe("A JSON report");
    expect(await layoutProblems(page)).toEqual([]);
  });
});

describe("browser paywall files", () => {
  it("should load its script and stylesheet from /__x402/assets/ under its CSP, and no file in place of an origin path", async () => {
    const { page } = await open();
    const files: Array<{ url: string; status: number; cache: string | undefined }> = [];
    page.on("response", (response) => {
      if (response.request().resourceType() === "document") return;
      const cache = response.headers()["cache-control"];
      files.push({ url: response.url(), status: response.status(), cache });
    });
    const refused: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy|integrity/i.test(message.text())) refused.push(message.text());
    });
    expect((await page.goto(url(ARTICLE)))?.status()).toBe(402);
    await page.getByRole("button", { name: /^Pay \$0\.01/ }).waitFor();
    expect(files.map((f) => new URL(f.url).pathname).sort()).toEqual([
      expect.stringMatching(/^\/__x402\/assets\/paywall\.[0-9a-f]{16}\.css$/),
      expect.stringMatching(/^\/__x402\/assets\/paywall\.[0-9a-f]{16}\.js$/),
    ]);
    for (const file of files) {
      expect(file.url.startsWith(stack.get().workerUrl)).toBe(true);
      expect(file.status).toBe(200);
      expect(file.cache).toBe("public, max-age=31536000, immutable");
    }
    expect(refused).toEqual([]);
    // The assets router sends every request to the Worker first (run_worker_first): a file of
    // static/ by its own name is the origin's path, here the demo origin's 404.
    const direct = await fetch(url("/paywall.js"));
    expect(direct.status).toBe(404);
    expect(await direct.text()).not.toContain("eth_signTypedData_v4");
  });
});

describe("browser paywall failures", () => {
  /** Opens the article, clicks the only pay button and waits for an error message. */
  async function failing(wallet: Partial<WalletOptions> | undefined, name: string) {
    const { page, log } = await open(wallet);
    const start = await balances(stack.get());
    const path = `/articles/edge-paywalls`;
    const hits = stack.get().originHits(path);
    await page.goto(url(path));
    await page.getByRole("button", { name: /^Pay \$0\.01/ }).click();
    await page.locator("#x402-status.error").waitFor();
    await shot(page, name);
    expect(await balances(stack.get())).toStrictEqual(start);
    expect(stack.get().originHits(path)).toBe(hits);
    return { text: (await statusText(page)) ?? "", log };
  }

  it("should say so when there is no wallet", async () => {
    const { text } = await failing(undefined, "5-no-wallet");
    expect(text).toMatch(/^No browser wallet was found\. Install a wallet extension/);
  });

  it("should say so when the person rejects the signature, and charge nothing", async () => {
    const { text, log } = await failing({ reject: true }, "6-rejected");
    expect(text).toBe("You rejected the signature in your wallet; nothing was paid.");
    expect(await log!.methods()).toContain("eth_signTypedData_v4");
  });

  it("should say so when the wallet lacks the chain", async () => {
    const { text, log } = await failing({ chainId: 1, chains: [1] }, "7-wrong-chain");
    expect(text).toMatch(/^Your wallet does not have Base Sepolia \(chain id 84532\)/);
    expect(await log!.methods()).not.toContain("eth_signTypedData_v4");
  });

  it("should say so when the balance is too low, before asking for a signature", async () => {
    const { text, log } = await failing({ key: generatePrivateKey() }, "8-insufficient");
    expect(text).toMatch(
      /^Your balance is too low: this costs 0\.01 USDC and your account 0x[0-9a-fA-F]{40} holds 0 USDC\./,
    );
    expect(await log!.methods()).not.toContain("eth_signTypedData_v4");
  });

  it("should show the paywall's reason when the payment is refused", async () => {
    const { text } = await failing({ tamper: true }, "9-refused");
    expect(text).toMatch(
      /^The payment was not accepted \(.+\)\. Nothing was charged; you can try again\.$/,
    );
  });
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
});
