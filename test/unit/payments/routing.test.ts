import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import type { Env } from "../../../src/config.ts";
import { facilitatorEndpoints, httpFacilitator } from "../../../src/payments/index.ts";
import type { FacilitatorRequest } from "../../../src/payments/index.ts";

/** Facilitator preferences: configuration, network routing by `/supported`, secrets in headers. */

const secrets: Record<string, string> = { CDP_KEY: "key-123" };
const secret = (name: string) => secrets[name];

function request(network: string, x402Version = 2): FacilitatorRequest {
  return {
    x402Version,
    paymentPayload: {},
    paymentRequirements: { scheme: "exact", network, amount: "1" },
  };
}

/** A fetch answering per host: `/supported` kinds and verify answers, recording calls. */
function facilitators(support: Record<string, string[] | "down">) {
  const calls: Array<{ url: string; headers: Headers }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(String(input));
    calls.push({ url: url.href, headers: new Headers(init?.headers) });
    const networks = support[url.host];
    if (networks === undefined || networks === "down") throw new TypeError("connection refused");
    if (url.pathname.endsWith("/supported")) {
      const kinds = networks.map((network) => ({ x402Version: 2, scheme: "exact", network }));
      return Response.json({ kinds, extensions: [], signers: {} });
    }
    return Response.json({ isValid: true, payer: `via ${url.host}` });
  };
  return { fetch, calls };
}

describe("facilitatorEndpoints", () => {
  it("should read FACILITATORS with names, networks and headers from secrets", () => {
    const result = facilitatorEndpoints(
      {
        FACILITATORS: JSON.stringify([
          {
            url: "https://cdp.example/x402/",
            name: "cdp",
            networks: ["eip155:8453"],
            headers: { "X-Api-Key": "env:CDP_KEY", "X-Team": "shop" },
          },
          { url: "https://open.example" },
        ]),
        FACILITATOR_URLS: "https://ignored.example",
      },
      secret,
    );
    expect(result).toEqual({
      ok: true,
      endpoints: [
        {
          url: "https://cdp.example/x402",
          name: "cdp",
          networks: ["eip155:8453"],
          headers: { "X-Api-Key": "key-123", "X-Team": "shop" },
        },
        { url: "https://open.example", name: "open.example", networks: "supported", headers: {} },
      ],
    });
  });

  it.each([
    ["not json", "FACILITATORS is not JSON"],
    ["[]", "FACILITATORS: Array must contain at least 1"],
    [JSON.stringify([{ url: "ftp://x.example" }]), "FACILITATORS[0].url: must be an http(s) URL"],
    [
      JSON.stringify([{ url: "https://x.example", networks: ["base"] }]),
      "FACILITATORS[0].networks[0]",
    ],
    [JSON.stringify([{ url: "https://x.example", extra: 1 }]), "FACILITATORS[0]"],
    [
      JSON.stringify([{ url: "https://x.example", headers: { A: "env:MISSING" } }]),
      "FACILITATORS[0].headers.A: the secret MISSING is not set",
    ],
  ])("should name the problem in %s", (json, problem) => {
    const result = facilitatorEndpoints({ FACILITATORS: json }, secret);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join("; ")).toContain(problem);
  });

  it("should make the Worker fail closed on a bad FACILITATORS", () => {
    const env = { ORIGIN_URL: "https://o.example", FACILITATORS: "[" } as unknown as Env;
    const loaded = loadConfig(env);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.reason).toContain("FACILITATORS is not JSON");
  });
});

describe("routing payments to facilitators", () => {
  const endpoints = (json: unknown) => {
    const result = facilitatorEndpoints({ FACILITATORS: JSON.stringify(json) }, secret);
    if (!result.ok) throw new Error(result.problems.join("; "));
    return result.endpoints;
  };

  it("should send each network to the first facilitator that settles it, with its headers", async () => {
    const { fetch, calls } = facilitators({
      "mainnet.example": ["eip155:8453"],
      "testnet.example": ["eip155:84532"],
    });
    const client = httpFacilitator({
      endpoints: endpoints([
        {
          url: "https://mainnet.example",
          networks: ["eip155:8453"],
          headers: { "X-Api-Key": "env:CDP_KEY" },
        },
        { url: "https://testnet.example" },
      ]),
      timeoutMs: 1000,
      fetch,
    });
    expect(await client.verify(request("eip155:8453"))).toMatchObject({
      body: { payer: "via mainnet.example" },
    });
    expect(calls.at(-1)?.headers.get("X-Api-Key")).toBe("key-123");
    expect(await client.verify(request("eip155:84532"))).toMatchObject({
      body: { payer: "via testnet.example" },
    });
    expect(calls.map((c) => c.url)).toEqual([
      "https://mainnet.example/verify",
      "https://testnet.example/supported",
      "https://testnet.example/verify",
    ]);
    // The listing is cached: the next payment goes straight to verify.
    await client.verify(request("eip155:84532"));
    expect(calls.filter((c) => c.url.endsWith("/supported"))).toHaveLength(1);
  });

  it("should fall back to the next facilitator for the network on failure", async () => {
    const { fetch, calls } = facilitators({ "a.example": "down", "b.example": ["eip155:84532"] });
    const client = httpFacilitator({
      endpoints: endpoints([
        { url: "https://a.example", networks: ["eip155:*"] },
        { url: "https://b.example" },
      ]),
      timeoutMs: 1000,
      fetch,
    });
    expect(await client.verify(request("eip155:84532"))).toMatchObject({
      body: { payer: "via b.example" },
    });
    expect(calls.map((c) => c.url)).toContain("https://a.example/verify");
  });

  it("should keep a facilitator whose listing failed in line rather than skip it", async () => {
    const { fetch } = facilitators({ "a.example": ["solana:devnet"], "b.example": "down" });
    const client = httpFacilitator({
      endpoints: endpoints([{ url: "https://b.example" }, { url: "https://a.example" }]),
      timeoutMs: 1000,
      fetch,
    });
    const result = await client.verify(request("eip155:84532"));
    expect(result).toMatchObject({ type: "unavailable", status: 503 });
  });

  it("should say so when no facilitator settles the network, and call none", async () => {
    const { fetch, calls } = facilitators({ "a.example": ["eip155:8453"] });
    const client = httpFacilitator({
      endpoints: endpoints([{ url: "https://a.example", networks: ["eip155:8453"] }]),
      timeoutMs: 1000,
      fetch,
    });
    expect(await client.settle(request("solana:devnet"))).toEqual({
      type: "unavailable",
      status: 503,
      reason: "no configured facilitator supports exact payments on solana:devnet (x402 v2)",
    });
    expect(calls).toHaveLength(0);
  });
});
