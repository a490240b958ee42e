import { describe, expect, it } from "vitest";
import { generateCrawlerKey, keyDirectory, signHeaders } from "../../../dev/crawler-signer.ts";
import type { CrawlerKey, SignOptions } from "../../../dev/crawler-signer.ts";
import {
  createWebBotAuthVerifier,
  identifyCrawler,
  isCovered,
} from "../../../src/crawlers/index.ts";
import type { FetchLike, VerifierOptions } from "../../../src/crawlers/index.ts";
import { KeyDirectoryCache } from "../../../src/crawlers/key-directory.ts";

/** The Web Bot Auth verifier and identity, with key directories answered by a fake fetch. */

const AGENT = "https://crawler.example";
const DIRECTORY = `${AGENT}/.well-known/http-message-signatures-directory`;
const URL_ = "https://site.example/articles/1";
const MEDIA = "application/http-message-signatures-directory+json";

function directoryFetch(
  key: CrawlerKey,
  answer: () => Response = () =>
    new Response(JSON.stringify(keyDirectory([key])), { headers: { "content-type": MEDIA } }),
): { fetch: FetchLike; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (url) => {
      calls.push(url);
      return answer();
    },
  };
}

async function signed(
  key: CrawlerKey,
  options: Partial<SignOptions> = {},
  headers: Record<string, string> = {},
): Promise<Request> {
  const signedHeaders = await signHeaders(
    key,
    { url: URL_, headers },
    { signatureAgent: AGENT, ...options },
  );
  return new Request(URL_, { headers: signedHeaders });
}

async function verify(request: Request, options: VerifierOptions) {
  return createWebBotAuthVerifier(options).verify(request);
}

describe("verifying signatures", () => {
  it("should verify a signature from a key in the named directory", async () => {
    const key = await generateCrawlerKey();
    const { fetch } = directoryFetch(key);
    const result = await verify(await signed(key), { fetch });
    expect(result).toMatchObject({
      status: "verified",
      keyid: key.thumbprint,
      directory: DIRECTORY,
    });
  });

  it("should accept the dictionary form of Signature-Agent", async () => {
    const key = await generateCrawlerKey();
    const result = await verify(
      await signed(key, { agentForm: "dictionary" }),
      directoryFetch(key),
    );
    expect(result.status).toBe("verified");
  });

  it("should say unsigned when no signature is sent", async () => {
    const key = await generateCrawlerKey();
    expect(await verify(new Request(URL_), directoryFetch(key))).toEqual({ status: "unsigned" });
  });

  it.each<[string, Partial<SignOptions>, string]>([
    ["no web-bot-auth tag", { tag: null }, "tagged"],
    ["another tag", { tag: "something-else" }, "tagged"],
    ["@authority not covered", { components: ["@path", "signature-agent"] }, "@authority"],
    ["Signature-Agent not covered", { components: ["@authority"] }, "not covered"],
    ["a keyid that is not the key's thumbprint", { keyid: "not-the-thumbprint" }, "thumbprint"],
    ["a signature created in the future", { created: 4102444800, expires: 4102444900 }, "future"],
    ["a validity longer than an hour", { created: 1, expires: 2 ** 31 }, "more than 3600 s"],
  ])("should refuse %s", async (_what, options, reason) => {
    const key = await generateCrawlerKey();
    const result = await verify(await signed(key, options), directoryFetch(key));
    expect(result.status).toBe("invalid");
    expect(result.status === "invalid" && result.reason).toContain(reason);
  });

  it("should refuse a signature by another key than the directory publishes", async () => {
    const [key, other] = [await generateCrawlerKey(), await generateCrawlerKey()];
    const result = await verify(await signed(other), directoryFetch(key));
    expect(result).toMatchObject({ status: "invalid" });
  });

  it("should refuse a signed header changed after signing", async () => {
    const key = await generateCrawlerKey();
    const request = await signed(key, {}, { "crawler-max-price": "USD 0.01" });
    const headers = new Headers(request.headers);
    headers.set("crawler-max-price", "USD 5.00");
    const result = await verify(new Request(URL_, { headers }), directoryFetch(key));
    expect(result).toMatchObject({
      status: "invalid",
      reason: "the signature does not match the request",
    });
  });

  it("should report which header fields the signature covers", async () => {
    const key = await generateCrawlerKey();
    const result = await verify(
      await signed(key, {}, { "crawler-max-price": "USD 0.01" }),
      directoryFetch(key),
    );
    expect(isCovered(result, ["crawler-max-price"])).toBe(true);
    expect(isCovered(result, ["crawler-exact-price"])).toBe(false);
    expect(isCovered({ status: "unsigned" }, [])).toBe(false);
  });
});

describe("key directories", () => {
  it("should refuse a plain-HTTP directory unless loopback HTTP is allowed, and then only loopback", async () => {
    const key = await generateCrawlerKey();
    const local = await signed(key, { signatureAgent: "http://127.0.0.1:9999" });
    const remote = await signed(key, { signatureAgent: "http://crawler.example" });
    const off = await verify(local.clone(), directoryFetch(key));
    expect(off.status === "invalid" && off.reason).toContain("HTTPS");
    const on = await verify(local, { ...directoryFetch(key), allowInsecureLoopback: true });
    expect(on.status).toBe("verified");
    const elsewhere = await verify(remote, { ...directoryFetch(key), allowInsecureLoopback: true });
    expect(elsewhere.status === "invalid" && elsewhere.reason).toContain("HTTPS");
  });

  it("should fetch a directory once and serve later requests from the cache", async () => {
    const key = await generateCrawlerKey();
    const directory = directoryFetch(key);
    const verifier = createWebBotAuthVerifier({ fetch: directory.fetch });
    for (let i = 0; i < 3; i++)
      expect((await verifier.verify(await signed(key))).status).toBe("verified");
    expect(directory.calls).toHaveLength(1);
  });

  it("should fetch the directory again after its max-age", async () => {
    const key = await generateCrawlerKey();
    let now = 1_000_000_000_000;
    const directory = directoryFetch(
      key,
      () =>
        new Response(JSON.stringify(keyDirectory([key])), {
          headers: { "content-type": MEDIA, "cache-control": "max-age=120" },
        }),
    );
    const verifier = createWebBotAuthVerifier({ fetch: directory.fetch, now: () => now });
    const at = async () => {
      const request = await signHeaders(
        key,
        { url: URL_ },
        {
          signatureAgent: AGENT,
          created: Math.floor(now / 1000),
          expires: Math.floor(now / 1000) + 60,
        },
      );
      return verifier.verify(new Request(URL_, { headers: request }));
    };
    await at();
    now += 119_000;
    await at();
    expect(directory.calls).toHaveLength(1);
    now += 2_000;
    await at();
    expect(directory.calls).toHaveLength(2);
  });

  it.each<[string, () => Response, string, string]>([
    [
      "is not JSON",
      () => new Response("<html>", { headers: { "content-type": MEDIA } }),
      "invalid",
      "not JSON",
    ],
    [
      "has no keys",
      () => new Response('{"keys":[]}', { headers: { "content-type": MEDIA } }),
      "invalid",
      "no Ed25519 key",
    ],
    [
      "is served as HTML",
      () => new Response("{}", { headers: { "content-type": "text/html" } }),
      "invalid",
      "text/html",
    ],
    ["answers 404", () => new Response("no", { status: 404 }), "invalid", "404"],
    ["answers 503", () => new Response("down", { status: 503 }), "unavailable", "503"],
    [
      "is too large",
      () => new Response("x".repeat(70_000), { headers: { "content-type": MEDIA } }),
      "invalid",
      "larger",
    ],
  ])("should never verify against a directory that %s", async (_what, answer, status, reason) => {
    const key = await generateCrawlerKey();
    const result = await verify(await signed(key), directoryFetch(key, answer));
    expect(result.status).toBe(status);
    expect("reason" in result && result.reason).toContain(reason);
  });

  it("should report an unreachable directory as unavailable, not as a pass", async () => {
    const key = await generateCrawlerKey();
    const result = await verify(await signed(key), {
      fetch: async () => {
        throw new TypeError("connection refused");
      },
    });
    expect(result).toMatchObject({ status: "unavailable" });
  });

  it("should give up on a directory that does not answer in time", async () => {
    const key = await generateCrawlerKey();
    const result = await verify(await signed(key), {
      fetch: (_url, init) =>
        new Promise((_resolve, reject) =>
          init.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
        ),
      directory: { timeoutMs: 50 },
    });
    expect(result.status === "unavailable" && result.reason).toContain("50 ms");
  });
});

describe("the key directory cache", () => {
  it("should keep at most maxEntries directories, dropping the least recently used", async () => {
    const key = await generateCrawlerKey();
    const { fetch, calls } = directoryFetch(key);
    const cache = new KeyDirectoryCache(fetch, () => 0, { maxEntries: 2 });
    const url = (n: number) =>
      `https://d${n}.example/.well-known/http-message-signatures-directory`;
    await cache.get(url(1));
    await cache.get(url(2));
    await cache.get(url(1)); // 1 is now the most recent
    await cache.get(url(3)); // evicts 2
    expect(cache.size).toBe(2);
    await cache.get(url(1));
    expect(calls.filter((c) => c === url(1))).toHaveLength(1);
    await cache.get(url(2));
    expect(calls.filter((c) => c === url(2))).toHaveLength(2);
  });

  it("regression: should never make a load wait on a fetch another load started", async () => {
    const key = await generateCrawlerKey();
    const { fetch, calls } = directoryFetch(key);
    const cache = new KeyDirectoryCache(fetch, Date.now);
    const loads = await Promise.all([1, 2, 3].map(() => cache.get(DIRECTORY)));
    expect(loads.every((l) => l.ok)).toBe(true);
    expect(calls).toHaveLength(3);
    // Once cached, later loads fetch nothing.
    await cache.get(DIRECTORY);
    expect(calls).toHaveLength(3);
  });
});

describe("identifying crawlers", () => {
  it("should never take a User-Agent's word for it", async () => {
    const key = await generateCrawlerKey();
    const verifier = createWebBotAuthVerifier(directoryFetch(key));
    const claim = new Request(URL_, {
      headers: { "user-agent": "Mozilla/5.0 (compatible; GPTBot/1.2)" },
    });
    expect(await identifyCrawler(claim, verifier)).toMatchObject({
      kind: "unverified",
      claimed: { id: "gptbot" },
    });
  });

  it("should call a valid signature from an unbound directory a signer, not the claimed crawler", async () => {
    const key = await generateCrawlerKey();
    const verifier = createWebBotAuthVerifier(directoryFetch(key));
    const request = await signed(key, {}, { "user-agent": "GPTBot/1.2" });
    const identity = await identifyCrawler(request, verifier);
    expect(identity.kind).toBe("verified-unknown");
  });

  it("should name the crawler whose directory signed", async () => {
    const key = await generateCrawlerKey();
    const verifier = createWebBotAuthVerifier(directoryFetch(key));
    const request = await signed(key, {}, { "user-agent": "GPTBot/1.2" });
    const identity = await identifyCrawler(request, verifier, { directories: { gptbot: [AGENT] } });
    expect(identity).toMatchObject({
      kind: "verified",
      crawler: { id: "gptbot" },
      keyid: key.thumbprint,
    });
  });

  it("should call a browser anonymous", async () => {
    const key = await generateCrawlerKey();
    const verifier = createWebBotAuthVerifier(directoryFetch(key));
    const browser = new Request(URL_, {
      headers: {
        "user-agent":
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
      },
    });
    expect(await identifyCrawler(browser, verifier)).toEqual({ kind: "anonymous" });
  });
});
