import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import { ADMIN_TOKEN, jsonOf } from "./admin-helpers";
import { call, putTable } from "./helpers";

/**
 * No configuration value that came from a secret, or that can carry a credential, is shown:
 * the admin view redacts by where a value came from (a secret, a facilitator header, a URL's
 * userinfo or query), not by what its variable is called, and a public `misconfigured` answer
 * says only that.
 */

const CDP_SECRET = "Bearer cdp-key-7f3a9c1e5b";
const LITERAL_KEY = "literal-facilitator-key-42af";
const RPC_KEY = "alchemy-key-9d8e7f6a5b";

/** The example of docs/networks-and-facilitators.md: a facilitator whose Authorization header is `env:CDP_AUTH`. */
const WITH_CDP: Partial<Env> & Record<string, string> = {
  FACILITATORS: JSON.stringify([
    {
      url: "https://api.cdp.example/x402",
      name: "cdp",
      headers: { Authorization: "env:CDP_AUTH", "X-Api-Key": LITERAL_KEY },
    },
    { url: "https://backup.example/x402?key=query-key-1234" },
  ]),
  CDP_AUTH: CDP_SECRET,
  CHAIN_RPC_URLS: JSON.stringify({ "eip155:84532": `https://base-sepolia.example/v2/${RPC_KEY}` }),
};

async function adminCall(path: string, overrides: Partial<Env>): Promise<Response> {
  return call(
    new Request(`https://admin.test/__x402/admin${path}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    }),
    overrides,
  );
}

describe("the admin configuration view", () => {
  it("should not show a facilitator key read from env:CDP_AUTH, a name that does not look secret", async () => {
    await putTable();
    const response = await adminCall("/config", WITH_CDP);
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const secret of [
      CDP_SECRET,
      "cdp-key-7f3a9c1e5b",
      LITERAL_KEY,
      RPC_KEY,
      "query-key-1234",
    ]) {
      expect(text).not.toContain(secret);
    }
    const body = JSON.parse(text) as {
      secrets: Record<string, string>;
      effective: { facilitators: Array<{ name: string; url: string; headers: string[] }> };
    };
    expect(body.secrets).toMatchObject({ CDP_AUTH: "set", CHAIN_RPC_URLS: "set" });
    // What an operator needs to check the set-up is still there.
    expect(body.effective.facilitators).toEqual([
      {
        name: "cdp",
        url: "https://api.cdp.example/x402",
        networks: "supported",
        headers: ["Authorization", "X-Api-Key"],
      },
      {
        name: "backup.example",
        url: "https://backup.example/x402?(redacted)",
        networks: "supported",
        headers: [],
      },
    ]);
  });

  it("should redact secret values from the reason of an invalid configuration", async () => {
    const response = await adminCall("/config", {
      ...WITH_CDP,
      ORIGIN_URL: `ftp://origin-user:origin-pass@origin.internal/?token=${RPC_KEY}`,
    });
    const body = await jsonOf<{ ok: boolean; reason: string }>(response);
    expect(body.ok).toBe(false);
    expect(body.reason).toContain("ORIGIN_URL");
    for (const secret of ["origin-pass", RPC_KEY]) expect(body.reason).not.toContain(secret);
    const health = await (
      await adminCall("/health", { ORIGIN_URL: `ftp://u:origin-pass@x/` })
    ).text();
    expect(health).toContain("ORIGIN_URL");
    expect(health).not.toContain("origin-pass");
  });
});

describe("public answers of a misconfigured paywall", () => {
  const BROKEN: Partial<Env> = { ORIGIN_URL: "ftp://origin-host.internal:2121/private-base" };

  it.each<[string, string, string]>([
    ["a proxied request", "GET", "https://paywall.test/api/x"],
    ["a percent-encoded proxied path", "GET", "https://paywall.test/api/%78"],
    ["the public health check", "GET", "https://paywall.test/__x402/health"],
    ["discovery", "GET", "https://paywall.test/.well-known/x402"],
    ["the crawl credit endpoint", "POST", "https://paywall.test/__x402/crawl-credit"],
  ])("should not repeat the configuration to %s", async (_name, method, url) => {
    const response = await call(new Request(url, { method }), BROKEN);
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(text).not.toContain("origin-host.internal");
    expect(text).not.toContain("ORIGIN_URL");
    expect(text).toMatch(/misconfigured/);
  });
});
