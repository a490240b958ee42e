import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import type { Env } from "../../src/config.ts";
import { PAY_TO } from "./fixtures.ts";

/** Only what validation needs: wrangler.toml's other vars and bindings may be absent. */
const BASE = {
  PRICES: {} as Env["PRICES"],
  ORIGIN_URL: "https://origin.example",
  FACILITATOR_URLS: "https://facilitator.example",
} as Env;

function problemsOf(env: Partial<Env>): string {
  const result = loadConfig({ ...BASE, ...env });
  if (result.ok) throw new Error("the configuration was accepted");
  return result.reason;
}

describe("loadConfig", () => {
  it("should apply the defaults to a minimal configuration", () => {
    expect(loadConfig(BASE)).toEqual({
      ok: true,
      config: {
        originUrl: new URL("https://origin.example"),
        facilitatorUrls: ["https://facilitator.example"],
        facilitators: [
          {
            url: "https://facilitator.example",
            name: "facilitator.example",
            networks: "any",
            headers: {},
          },
        ],
        payTo: undefined,
        network: undefined,
        chainRpcUrls: {},
        tableTtlMs: 10_000,
        facilitatorTimeoutMs: 15_000,
        payerHeader: "x-payer",
        directoryHttpLoopback: false,
        funnelFlushMs: 5000,
      },
    });
  });

  it("should allow plain-HTTP loopback key directories only when asked, and refuse other values", () => {
    const on = loadConfig({ ...BASE, WEB_BOT_AUTH_HTTP_LOOPBACK: "true" });
    expect(on.ok && on.config.directoryHttpLoopback).toBe(true);
    expect(problemsOf({ WEB_BOT_AUTH_HTTP_LOOPBACK: "yes" })).toContain(
      "WEB_BOT_AUTH_HTTP_LOOPBACK",
    );
  });

  it("should read every variable", () => {
    const result = loadConfig({
      ...BASE,
      PAY_TO: ` ${PAY_TO} `,
      NETWORK: "eip155:8453",
      PRICE_TABLE_TTL_SECONDS: "3",
      FACILITATOR_TIMEOUT_MS: "2000",
      PAYER_HEADER: "X-Paid-By",
    });
    expect(result).toMatchObject({
      ok: true,
      config: {
        payTo: PAY_TO,
        network: "eip155:8453",
        tableTtlMs: 3000,
        facilitatorTimeoutMs: 2000,
        payerHeader: "x-paid-by",
      },
    });
  });

  it("should read CHAIN_RPC_URLS, with secrets for env: values, and name every bad entry", () => {
    const read = loadConfig({
      ...BASE,
      CHAIN_RPC_URLS: '{"eip155:84532":"http://127.0.0.1:8545","eip155:8453":"env:BASE_RPC"}',
      BASE_RPC: "https://base.example/v2/key",
    } as Env);
    expect(read.ok && read.config.chainRpcUrls).toEqual({
      "eip155:84532": "http://127.0.0.1:8545",
      "eip155:8453": "https://base.example/v2/key",
    });
    expect(problemsOf({ CHAIN_RPC_URLS: "[1]" })).toContain("CHAIN_RPC_URLS must be a JSON object");
    expect(problemsOf({ CHAIN_RPC_URLS: "{" })).toContain("CHAIN_RPC_URLS is not JSON");
    expect(problemsOf({ CHAIN_RPC_URLS: '{"base":"http://x"}' })).toContain(
      'CHAIN_RPC_URLS: "base" is not a CAIP-2 network id',
    );
    expect(problemsOf({ CHAIN_RPC_URLS: '{"eip155:1":"ftp://x"}' })).toContain(
      "CHAIN_RPC_URLS.eip155:1: ftp://x is not an http(s) URL",
    );
    const missing = problemsOf({ CHAIN_RPC_URLS: '{"eip155:1":"env:NOPE"}' });
    expect(missing).toContain("CHAIN_RPC_URLS.eip155:1: the secret NOPE is not set");
  });

  it("should accept a TTL of zero", () => {
    expect(loadConfig({ ...BASE, PRICE_TABLE_TTL_SECONDS: "0" })).toMatchObject({
      config: { tableTtlMs: 0 },
    });
  });

  it("should treat empty variables as unset", () => {
    expect(
      loadConfig({
        ...BASE,
        PAY_TO: "",
        NETWORK: " ",
        PRICE_TABLE_TTL_SECONDS: "",
        PAYER_HEADER: "",
      }),
    ).toMatchObject({
      ok: true,
      config: { payTo: undefined, network: undefined, tableTtlMs: 10_000, payerHeader: "x-payer" },
    });
  });

  it("should split comma-separated facilitator URLs in order", () => {
    const result = loadConfig({
      ...BASE,
      FACILITATOR_URLS: " https://a.example/x402 ,https://b.example,, ",
    });
    expect(result).toMatchObject({
      config: { facilitatorUrls: ["https://a.example/x402", "https://b.example"] },
    });
  });

  it("should report every problem together", () => {
    const reason = problemsOf({
      ORIGIN_URL: undefined,
      FACILITATOR_URLS: "",
      PAY_TO: "0x123",
      NETWORK: "base",
      PRICE_TABLE_TTL_SECONDS: "-1",
      FACILITATOR_TIMEOUT_MS: "soon",
      PAYER_HEADER: "x payer",
    });
    expect(reason).toBe(
      "the paywall is misconfigured: " +
        [
          "ORIGIN_URL is not set",
          "FACILITATOR_URLS is not set",
          "PAY_TO is not a 0x address",
          "NETWORK is not a CAIP-2 id such as eip155:8453",
          "PRICE_TABLE_TTL_SECONDS is not a whole number of at least 0",
          "FACILITATOR_TIMEOUT_MS is not a whole number of at least 1",
          "PAYER_HEADER is not a header name",
        ].join("; "),
    );
  });

  it.each(["origin.example", "ftp://origin.example", "javascript:alert(1)", "/relative"])(
    "should refuse the origin URL %j",
    (url) => {
      expect(problemsOf({ ORIGIN_URL: url })).toContain(`ORIGIN_URL is not an http(s) URL: ${url}`);
    },
  );

  it("should refuse a bad URL among the facilitator URLs", () => {
    expect(problemsOf({ FACILITATOR_URLS: "https://ok.example,file:///etc/passwd" })).toBe(
      "the paywall is misconfigured: FACILITATOR_URLS is not an http(s) URL: file:///etc/passwd",
    );
  });

  it.each(["0x123", PAY_TO + "0", PAY_TO.slice(2), "0x" + "g".repeat(40)])(
    "should refuse the payee %j",
    (payTo) => {
      expect(problemsOf({ PAY_TO: payTo })).toBe(
        "the paywall is misconfigured: PAY_TO is not a 0x address",
      );
    },
  );

  it.each(["base", "EIP155:8453", "eip155:", "eip155:84532:1"])(
    "should refuse the network %j",
    (network) => {
      expect(problemsOf({ NETWORK: network })).toContain("NETWORK is not a CAIP-2 id");
    },
  );

  it.each(["-1", "-0.5", "abc", "Infinity", "NaN", "0x10", "1e3", "2.5"])(
    "should refuse the number %j",
    (value) => {
      expect(problemsOf({ PRICE_TABLE_TTL_SECONDS: value, FACILITATOR_TIMEOUT_MS: value })).toBe(
        "the paywall is misconfigured: PRICE_TABLE_TTL_SECONDS is not a whole number of at least 0; " +
          "FACILITATOR_TIMEOUT_MS is not a whole number of at least 1",
      );
    },
  );

  it("should refuse a zero facilitator timeout, which would fail every payment (regression)", () => {
    expect(problemsOf({ FACILITATOR_TIMEOUT_MS: "0" })).toBe(
      "the paywall is misconfigured: FACILITATOR_TIMEOUT_MS is not a whole number of at least 1",
    );
  });
});

describe("FUNNEL_FLUSH_SECONDS", () => {
  it("should read the funnel's flush time and refuse one past what work after an answer may take", () => {
    const base = {
      PRICES: {} as KVNamespace,
      ORIGIN_URL: "https://origin.test",
      FACILITATOR_URLS: "https://f.test",
    };
    const zero = loadConfig({ ...base, FUNNEL_FLUSH_SECONDS: "0" } as Env);
    expect(zero.ok && zero.config.funnelFlushMs).toBe(0);
    const long = loadConfig({ ...base, FUNNEL_FLUSH_SECONDS: "60" } as Env);
    expect(long.ok).toBe(false);
    expect(!long.ok && long.reason).toContain("FUNNEL_FLUSH_SECONDS is at most 25");
  });
});
