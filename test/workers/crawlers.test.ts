import { beforeEach, describe, expect, inject, it } from "vitest";
import { BASE, BROWSER_UA, crawl, crawlTable, signedRequest } from "./crawler-helpers";
import {
  call,
  decodeHeader,
  facilitator,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Pay-per-crawl in workerd: identity (Web Bot Auth against key directories served on loopback),
 * per-crawler policies, and Cloudflare's crawler headers, with the fake facilitator and origin.
 */

beforeEach(async () => {
  await putTable(crawlTable());
});

function required(response: Response): { accepts: Array<{ amount: string }> } {
  return decodeHeader(response.headers.get("PAYMENT-REQUIRED"));
}

describe("people and plain free rules", () => {
  it("should let a person read a crawler-only page free", async () => {
    const path = `/blog/${unique()}`;
    const response = await call(
      new Request(`${BASE}${path}`, { headers: { "user-agent": BROWSER_UA } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("crawler-charged")).toBeNull();
    expect(await originSaw(path)).toBe(1);
  });

  it("should still ask a person to pay a priced rule's own price, without crawler headers", async () => {
    const response = await call(new Request(`${BASE}/articles/${unique()}`));
    expect(response.status).toBe(402);
    expect(required(response).accepts[0]!.amount).toBe("10000");
    expect(response.headers.get("crawler-price")).toBeNull();
  });

  it("should serve robots.txt free even to a blocked crawler", async () => {
    await putTable(crawlTable({ policies: { devbot: { action: "block" } } }));
    const response = await crawl("/robots.txt");
    expect(response.status).toBe(200);
  });
});

describe("crawler policies", () => {
  it("should quote a charged crawler its own price in crawler-price and the x402 offer", async () => {
    const path = `/blog/${unique()}`;
    const response = await crawl(path);
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.005");
    expect(required(response).accepts[0]!.amount).toBe("5000");
    expect(await originSaw(path)).toBe(0);
  });

  it("should serve a crawler that pays its price with x402 and say crawler-charged", async () => {
    const path = `/blog/${unique()}`;
    const challenge = await crawl(path);
    const { header } = paymentFor(challenge);
    const response = await crawl(path, {
      headers: { "payment-signature": header, "crawler-exact-price": "USD 0.005" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("crawler-charged")).toBe("USD 0.005");
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeTruthy();
    expect(await originSaw(path)).toBe(1);
  });

  it("should charge a crawler on a priced rule its policy price, not the route's", async () => {
    const response = await crawl(`/articles/${unique()}`);
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.005");
  });

  it("should let an allowed crawler through free, even on a priced rule", async () => {
    const path = `/articles/${unique()}`;
    const response = await crawl(path, { key: 1, headers: { "user-agent": "GPTBot/1.2" } });
    expect(response.status).toBe(200);
    expect(await originSaw(path)).toBe(1);
  });

  it("should answer 403 CrawlerForbidden to a blocked crawler and contact nobody", async () => {
    await putTable(crawlTable({ policies: { devbot: { action: "block" } } }));
    const path = `/blog/${unique()}`;
    const response = await crawl(path);
    expect(response.status).toBe(403);
    expect(response.headers.get("crawler-error")).toBe("CrawlerForbidden");
    expect(await originSaw(path)).toBe(0);
  });

  it("should give an unsigned 'GPTBot' the unverified policy, never gptbot's allow", async () => {
    const path = `/blog/${unique()}`;
    const response = await call(
      new Request(`${BASE}${path}`, {
        headers: { "user-agent": "Mozilla/5.0 (compatible; GPTBot/1.2)" },
      }),
    );
    expect(response.status).toBe(403);
    expect(response.headers.get("crawler-error")).toBe("CrawlerForbidden");
    expect(await originSaw(path)).toBe(0);
  });

  it("should charge an unverified crawler the rule's crawl price when the policy says charge", async () => {
    await putTable(crawlTable({ unverified: { action: "charge" } }));
    const response = await call(
      new Request(`${BASE}/blog/${unique()}`, { headers: { "user-agent": "GPTBot/1.2" } }),
    );
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.002");
  });

  it("should give gptbot's key signing from another directory nothing of gptbot's policy", async () => {
    // Key 1 is gptbot's, but named at devbot's directory: the key is not found there.
    const response = await crawl(`/blog/${unique()}`, {
      key: 1,
      agent: inject("crawlerDirectories")[0],
      headers: { "user-agent": "GPTBot/1.2" },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
  });
});

describe("price headers", () => {
  it.each([
    [{ "crawler-exact-price": "USD 0.004" }, 402, "InvalidCrawlerExactPrice"],
    [{ "crawler-max-price": "USD 0.0049" }, 402, "InvalidCrawlerMaxPrice"],
    [
      { "crawler-exact-price": "USD 0.005", "crawler-max-price": "USD 1" },
      400,
      "ConflictingPriceHeaders",
    ],
    [{ "crawler-max-price": "EUR 1" }, 400, "InvalidCrawlerPriceValue"],
  ])("should refuse %o with %i %s", async (headers, status, code) => {
    const path = `/blog/${unique()}`;
    const response = await crawl(path, { headers });
    expect(response.status).toBe(status);
    expect(response.headers.get("crawler-error")).toBe(code);
    if (status === 402) expect(response.headers.get("crawler-price")).toBe("USD 0.005");
    expect(await originSaw(path)).toBe(0);
  });

  it("should refuse a price header the signature does not cover", async () => {
    const request = await signedRequest(`/blog/${unique()}`);
    const headers = new Headers(request.headers);
    headers.set("crawler-max-price", "USD 9.99");
    const response = await call(new Request(request.url, { headers }));
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await response.text()).toContain("crawler-max-price");
  });

  it("should ask for payment again when crawler-max-price is high enough but there is no credit", async () => {
    const response = await crawl(`/blog/${unique()}`, {
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.005");
    expect(
      decodeHeader<{ error: string }>(response.headers.get("PAYMENT-REQUIRED")).error,
    ).toContain("credit");
  });
});

describe("signatures that do not prove anything", () => {
  it("should refuse a request changed after signing", async () => {
    const request = await signedRequest(`/blog/${unique()}`);
    const response = await call(
      new Request(`${BASE}/blog/other-${unique()}`, { headers: request.headers }),
    );
    // Default signatures cover @path: the same headers on another path must not verify.
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
  });

  it("should refuse an expired signature", async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await crawl(`/blog/${unique()}`, {
      sign: { created: now - 900, expires: now - 600 },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await response.text()).toContain("expired");
  });

  it("should refuse a signature naming a malformed key directory, with the reason", async () => {
    const path = `/blog/${unique()}`;
    const response = await crawl(path, { agent: inject("malformedDirectory") });
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await response.text()).toContain("is not JSON");
    expect(await originSaw(path)).toBe(0);
  });

  it("should answer 502 InternalError when the key directory cannot be reached, never a pass", async () => {
    const path = `/blog/${unique()}`;
    const response = await crawl(path, { agent: inject("deadDirectory") });
    expect(response.status).toBe(502);
    expect(response.headers.get("crawler-error")).toBe("InternalError");
    expect(await originSaw(path)).toBe(0);
  });

  it("should refuse plain-HTTP directories unless loopback HTTP is enabled", async () => {
    const request = await signedRequest(`/blog/${unique()}`);
    const response = await call(request, { WEB_BOT_AUTH_HTTP_LOOPBACK: "false" });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("HTTPS");
  });
});

describe("x402 settlement for crawlers", () => {
  it("should not say crawler-charged when the origin fails, and settle nothing", async () => {
    const path = `/status/500/${unique()}`;
    const challenge = await crawl(path);
    const { header, nonce } = paymentFor(challenge);
    const response = await crawl(path, { headers: { "payment-signature": header } });
    expect(response.status).toBe(500);
    expect(response.headers.get("crawler-charged")).toBeNull();
    const calls = await (await fetch(`${inject("facilitatorBase")}/__calls?nonce=${nonce}`)).json();
    expect((calls as Array<{ op: string }>).map((c) => c.op)).toEqual(["verify"]);
  });

  it("should add crawler-price to a failed settlement's 402", async () => {
    const path = `/blog/${unique()}`;
    const { header } = paymentFor(await crawl(path));
    const request = await signedRequest(path, { headers: { "payment-signature": header } });
    const response = await call(request, { FACILITATOR_URLS: facilitator("settle-fail") });
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.005");
  });
});

describe("copied signatures", () => {
  const now = () => Math.floor(Date.now() / 1000);
  /** What a real crawler may sign: the authority and its directory, nothing that names the page. */
  const authorityOnly = ["@authority", "signature-agent"];

  it("should refuse an allowed crawler's free access on a priced page with a signature older than maxSignatureAge", async () => {
    const path = `/articles/${unique()}`;
    const response = await crawl(path, {
      key: 1,
      headers: { "user-agent": "GPTBot/1.2" },
      sign: { created: now() - 400, expires: now() + 200 },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await response.text()).toContain("made in the last 300 s");
    expect(await originSaw(path)).toBe(0);
  });

  it("should apply the table's maxSignatureAge to free access", async () => {
    await putTable(crawlTable({ maxSignatureAge: 30 }));
    const path = `/articles/${unique()}`;
    const response = await crawl(path, {
      key: 1,
      headers: { "user-agent": "GPTBot/1.2" },
      sign: { created: now() - 45, expires: now() + 200 },
    });
    expect(response.status).toBe(400);
    expect(await originSaw(path)).toBe(0);
  });

  it("should let in free an allowed crawler that signs only @authority and signature-agent, without a nonce", async () => {
    const path = `/articles/${unique()}`;
    const response = await crawl(path, {
      key: 1,
      headers: { "user-agent": "GPTBot/1.2" },
      sign: { components: authorityOnly, nonce: null },
    });
    expect(response.status).toBe(200);
    expect(await originSaw(path)).toBe(1);
  });

  it("should still identify a crawler by an old signature where it gets nothing others do not", async () => {
    // A crawler-only page people read free: gptbot's allow is no privilege there.
    const path = `/blog/${unique()}`;
    const response = await crawl(path, {
      key: 1,
      headers: { "user-agent": "GPTBot/1.2" },
      sign: { created: now() - 400, expires: now() + 200 },
    });
    expect(response.status).toBe(200);
  });

  it("should not let a copy of a crawler's signed payment buy another page at the crawler's price", async () => {
    // devbot pays USD 0.005 on /articles, where people pay USD 0.01.
    const first = `/articles/${unique()}`;
    const { header } = paymentFor(await crawl(first));
    const captured = await signedRequest(first, {
      headers: { "payment-signature": header },
      sign: { components: authorityOnly },
    });
    const original = await call(captured.clone());
    expect(original.status).toBe(200);
    expect(original.headers.get("crawler-charged")).toBe("USD 0.005");

    // The copier lifts the signature headers onto its own payment for another page.
    const second = `/articles/${unique()}`;
    const copied = paymentFor(await crawl(second));
    const headers = new Headers(captured.headers);
    headers.set("payment-signature", copied.header);
    const response = await call(new Request(`${BASE}${second}`, { headers }));
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await response.text()).toContain("already used");
    expect(await facilitatorCalls(copied.nonce)).toEqual([]);
    expect(await originSaw(second)).toBe(0);
  });

  it("should refuse a payment at the crawler's lower price when the signature neither covers it nor has a nonce", async () => {
    const path = `/articles/${unique()}`;
    const { header, nonce } = paymentFor(await crawl(path));
    const response = await crawl(path, {
      headers: { "payment-signature": header },
      sign: { components: authorityOnly, nonce: null },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await response.text()).toContain("once per signature");
    expect(await facilitatorCalls(nonce)).toEqual([]);
    expect(await originSaw(path)).toBe(0);
  });

  it("should take a payment at the crawler's lower price when the signature covers it, nonce or not", async () => {
    const path = `/articles/${unique()}`;
    const { header } = paymentFor(await crawl(path));
    const response = await crawl(path, {
      headers: { "payment-signature": header },
      sign: { nonce: null },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("crawler-charged")).toBe("USD 0.005");
  });

  it("should refuse a payment at the crawler's lower price with a signature older than maxSignatureAge", async () => {
    const path = `/articles/${unique()}`;
    const { header, nonce } = paymentFor(await crawl(path));
    const response = await crawl(path, {
      headers: { "payment-signature": header },
      sign: { created: now() - 400, expires: now() + 200 },
    });
    expect(response.status).toBe(400);
    expect(await facilitatorCalls(nonce)).toEqual([]);
  });

  it("should not forward a crawler's signature headers to the origin", async () => {
    const response = await crawl(`/articles/${unique()}`, {
      key: 1,
      headers: { "user-agent": "GPTBot/1.2" },
    });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as { headers: Record<string, string> };
    expect(echoed.headers["user-agent"]).toBe("GPTBot/1.2");
    for (const name of ["signature", "signature-input", "signature-agent"]) {
      expect(echoed.headers[name]).toBeUndefined();
    }
  });
});
