import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { describe, expect, it } from "vitest";
import { STATIC_ASSETS } from "../../../src/assets/index.ts";
import { challengeResponse } from "../../../src/paywall/challenge-response.ts";
import type { Offer } from "../../../src/pricing/index.ts";
import { extensionMembers } from "../../../src/x402/index.ts";
import { OFFER, RESOURCE_URL } from "../fixtures.ts";

/**
 * The browser paywall page (src/browser): what it says, that every value is escaped, that the
 * offer it embeds is the header's, its Content Security Policy, and the static files it loads
 * (static/paywall.js and paywall.css, served by the Worker: test/workers/static-assets.test.ts).
 * The script itself runs in Chromium in test/e2e/browser-paywall.test.ts.
 */

/** A file of static/, as `wrangler deploy` uploads it. */
const staticFile = (name: string) =>
  readFileSync(new URL(`../../../static/${name}`, import.meta.url), "utf8");

const EXTENSIONS = { "payment-identifier": { info: { required: false } } };

function page(offer: Offer = OFFER, error?: string, resourceUrl = RESOURCE_URL): Response {
  const extensions = extensionMembers(EXTENSIONS);
  return challengeResponse({ offer, resourceUrl, error, html: true, extensions });
}

/** The JSON block the script reads, parsed. */
function embedded(html: string): unknown {
  const block = /<script type="application\/json" id="x402-required"[^>]*>([^<]*)<\/script>/.exec(
    html,
  );
  if (!block?.[1]) throw new Error("no embedded offer");
  return JSON.parse(block[1]);
}

/** The page's one script element: a static file, with this response's nonce. */
function scriptOf(html: string): { nonce: string; src: string; integrity: string } {
  const match = /<script src="([^"]+)" integrity="([^"]+)" nonce="([^"]+)"><\/script>/.exec(html);
  if (!match?.[1] || !match[2] || !match[3]) throw new Error("no page script");
  return { src: match[1], integrity: match[2], nonce: match[3] };
}

describe("paywall page", () => {
  it("should break the payee address only between groups of its hex digits, never after the 0 of 0x", async () => {
    const html = await page().text();
    expect(html).not.toContain("break-all");
    const payee = /<code class="address" id="x402-payee">(.*?)<\/code>/.exec(html)?.[1] ?? "";
    const groups = payee.split("<wbr>").map((g) => g.replace(/<[^>]+>/g, ""));
    expect(groups[0]).toBe(OFFER.payTo.slice(0, 6));
    expect(groups.slice(1).every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))).toBe(true);
    expect(groups.join("")).toBe(OFFER.payTo);
  });

  it("should name the page by its rule's title, else by its URL, not by the rule's description", async () => {
    const titled = await page({ ...OFFER, title: "Why edge paywalls" }).text();
    expect(titled).toContain('<h1 id="x402-title">Why edge paywalls</h1>');
    const [one, two] = await Promise.all(
      ["/articles/hello-x402", "/articles/edge_paywalls.html"].map((path) =>
        page(OFFER, undefined, `https://example.com${path}`).text(),
      ),
    );
    expect(one).toContain('<h1 id="x402-title">Hello x402</h1>');
    expect(two).toContain('<h1 id="x402-title">Edge paywalls</h1>');
    const root = await page(OFFER, undefined, "https://example.com/").text();
    expect(root).toContain('<h1 id="x402-title">example.com</h1>');
  });

  it("should brand the page with the operator's name, colour and logo, the logo's origin allowed", async () => {
    const brand = { name: "Demo <Times>", colour: "#ffcc00", logo: "https://cdn.example/logo.svg" };
    const response = page({ ...OFFER, brand });
    const html = await response.text();
    expect(html).toContain("<span>Demo &#60;Times&#62;</span>");
    expect(html).toContain('<img src="https://cdn.example/logo.svg"');
    expect(html).toContain("<style>:root{--accent:#ffcc00;--ink:#000}</style>");
    expect(response.headers.get("Content-Security-Policy")).toContain(
      "img-src 'self' data: blob: https://cdn.example;",
    );
    const dark = await page({ ...OFFER, brand: { colour: "#123" } }).text();
    expect(dark).toContain("--accent:#123;--ink:#fff");
    expect(dark).not.toContain('id="x402-site"');
  });

  it("should say what the content is, what it costs, where and to whom", async () => {
    const html = await page().text();
    expect(html).toContain("<title>Paid: payment required</title>");
    expect(html).toContain('<h1 id="x402-title">Paid</h1>');
    expect(html).toContain('<p id="x402-about">A paid article</p>');
    expect(html).toContain('<p class="price">$0.01</p>');
    expect(html).toContain("One payment opens this page once. Paid in USDC on Base Sepolia to");
    const payee = /<code class="address" id="x402-payee">(.*?)<\/code>/.exec(html)?.[1] ?? "";
    expect(payee.replace(/<[^>]+>/g, "")).toBe(OFFER.payTo);
    expect(html).toContain('data-price="$0.01" data-chain="Base Sepolia" data-decimals="6"');
  });

  it("should describe what a session buys", async () => {
    const session = {
      ttlSeconds: 3600,
      uses: 5,
      scope: "resource",
      routeKey: "r",
      caseSensitive: false,
    };
    const html = await page({ ...OFFER, session }).text();
    expect(html).toContain(
      "One payment gives you access for 1 hour or for 5 visits, whichever ends first; this browser remembers it.",
    );
    const timeOnly = await page({ ...OFFER, session: { ...session, uses: undefined } }).text();
    expect(timeOnly).toContain(
      "One payment gives you access for 1 hour; this browser remembers it.",
    );
  });

  it("should embed exactly the PaymentRequired of the header", async () => {
    const response = page(OFFER, "invalid_exact_evm_signature");
    const header = decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!);
    const html = await response.text();
    expect(embedded(html)).toStrictEqual(header);
    expect(header).toMatchObject({ error: "invalid_exact_evm_signature", extensions: EXTENSIONS });
  });

  it("should escape the description, the error and the URL everywhere they appear", async () => {
    const evil = `</script><script>alert("x")</script><!--`;
    const offer = { ...OFFER, description: evil };
    const url = `${RESOURCE_URL}?q=${encodeURIComponent(evil)}&raw=</script>`;
    const response = page(offer, `<img src=x onerror='alert(1)'>&`, url);
    const html = await response.text();
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<!--");
    expect(html).toContain("&#60;/script&#62;&#60;script&#62;alert(&#34;x&#34;)");
    expect(html).toContain("&#60;img src=x onerror=&#39;alert(1)&#39;&#62;&#38;");
    const header = decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!);
    expect(embedded(html)).toStrictEqual(header);
    expect(header.resource.description).toBe(evil);
  });

  it("should show atomic units and the name from the URL for a token of unknown decimals", async () => {
    const asset = "0x1111111111111111111111111111111111111111";
    const html = await page({ ...OFFER, asset, display: "", description: "" }).text();
    expect(html).toContain(`<p class="price">10000 units of ${asset}</p>`);
    expect(html).toContain('<h1 id="x402-title">Paid</h1>');
    expect(html).not.toContain('id="x402-about"');
    expect(html).not.toContain("data-decimals");
  });

  it("should stay small (about 2 KB, 1 KB gzipped; its script and stylesheet are cached files)", async () => {
    const html = new TextEncoder().encode(await page().text());
    const gzipped = new Blob([html]).stream().pipeThrough(new CompressionStream("gzip"));
    const gzippedBytes = (await new Response(gzipped).arrayBuffer()).byteLength;
    expect(html.length).toBeLessThan(3_000);
    expect(gzippedBytes).toBeLessThan(1_500);
  });
});

describe("paywall page security headers", () => {
  it("should allow only its own nonced script and no other origin", async () => {
    const response = page();
    const csp = response.headers.get("Content-Security-Policy")!;
    const { nonce } = scriptOf(await response.text());
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(csp).toContain(`script-src 'nonce-${nonce}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).not.toMatch(/https?:|\*|'unsafe-eval'|script-src[^;]*'unsafe-inline'/);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("should use a new nonce for every response", async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 5; i++) nonces.add(scriptOf(await page().text()).nonce);
    expect(nonces.size).toBe(5);
  });

  it("should keep the challenge's headers and status", () => {
    const response = page();
    expect(response.status).toBe(402);
    expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Vary")).toBe("Accept");
  });

  it("should ship a script that parses and never ends its own element", async () => {
    const { src } = scriptOf(await page().text());
    expect(src).toBe(STATIC_ASSETS["paywall.js"].path);
    const source = staticFile("paywall.js");
    expect(() => new Function(source)).not.toThrow();
    expect(source).not.toMatch(/<\/script|<!--/i);
    expect(source).toContain("eth_signTypedData_v4");
  });

  it("should load its script from this origin's own path, pinned to the file's bytes", async () => {
    const { src, integrity } = scriptOf(await page().text());
    expect(src).toMatch(/^\/__x402\/assets\/paywall\.[0-9a-f]{16}\.js$/);
    const digest = createHash("sha384").update(staticFile("paywall.js")).digest("base64");
    expect(integrity).toBe(`sha384-${digest}`);
  });

  it("should style its buttons and site name with the brand's colours from its stylesheet", async () => {
    const html = await page().text();
    const style = STATIC_ASSETS["paywall.css"].path;
    expect(html).toContain(`<link rel="stylesheet" href="${style}">`);
    expect(style).toMatch(/^\/__x402\/assets\/paywall\.[0-9a-f]{16}\.css$/);
    const css = staticFile("paywall.css").replace(/\s+/g, "");
    expect(css).toContain("background:var(--accent);color:var(--ink)");
    expect(css).toContain("color:var(--accent)");
  });
});
