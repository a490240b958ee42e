import { beforeEach, describe, expect, it } from "vitest";
import {
  SESSION_HOST,
  call,
  decodeHeader,
  facilitator,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * The browser paywall page as the Worker serves it in workerd: the offer embedded in the page is
 * the header's (extensions included), the CSP holds, and what the page's script reads when a
 * payment it sent is refused (the header's `error`) is there on an HTML answer too.
 */

const BASE = "https://paywall.test";
const BROWSER = { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

beforeEach(async () => {
  await putTable();
});

function embedded(html: string): unknown {
  const block = /<script type="application\/json" id="x402-required"[^>]*>([^<]*)<\/script>/.exec(
    html,
  );
  return JSON.parse(block?.[1] ?? "null");
}

async function browse(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return call(new Request(url, { headers: { ...BROWSER, ...headers } }), {
    FACILITATOR_URLS: facilitator("invalid"),
  });
}

describe("paywall page in the Worker", () => {
  it("should embed the header's offer, extensions included, under a nonce-only CSP", async () => {
    const response = await browse(`${BASE}/articles/${unique()}`);
    expect(response.status).toBe(402);
    const header = decodeHeader(response.headers.get("PAYMENT-REQUIRED"));
    const html = await response.text();
    expect(embedded(html)).toStrictEqual(header);
    expect(Object.keys(header["extensions"] as object)).toContain("payment-identifier");
    const nonce = /<script src="[^"]+" integrity="[^"]+" nonce="([^"]+)">/.exec(html)?.[1];
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain(`script-src 'nonce-${nonce}'`);
    expect(csp).not.toMatch(/https?:/);
    expect(html).not.toMatch(/\s(src|href)="?https?:/);
    expect(html).toContain("One payment opens this page once.");
  });

  it("should carry the sign-in-with-x offer and the session's reach on a session route", async () => {
    const response = await browse(`https://${SESSION_HOST}/one/${unique()}`);
    expect(response.status).toBe(402);
    const header = decodeHeader(response.headers.get("PAYMENT-REQUIRED"));
    const html = await response.text();
    expect(embedded(html)).toStrictEqual(header);
    expect(Object.keys(header["extensions"] as object)).toContain("sign-in-with-x");
    expect(html).toContain("One payment gives you access for 1 hour; this browser remembers it.");
  });

  it("should say why a payment the page sent was refused, in the header the script reads", async () => {
    const url = `${BASE}/articles/${unique()}`;
    const { header: payment } = paymentFor(await browse(url));
    const refused = await browse(url, { "PAYMENT-SIGNATURE": payment });
    expect(refused.status).toBe(402);
    const error = decodeHeader(refused.headers.get("PAYMENT-REQUIRED"))["error"];
    expect(error).toEqual(expect.any(String));
    expect(await refused.text()).toContain(`Not accepted: ${String(error)}`);
  });

  it("should leave programs' JSON 402 without a page or a CSP", async () => {
    const response = await call(new Request(`${BASE}/articles/${unique()}`));
    expect(response.status).toBe(402);
    expect(response.headers.get("Content-Type")).toBe("application/json");
    expect(response.headers.get("Content-Security-Policy")).toBeNull();
  });
});
