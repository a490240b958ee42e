import { describe, expect, it } from "vitest";
import { call, decodeHeader, originSaw, putTable, TABLE } from "./helpers";

/** Discovery in workerd: the documents follow the live table in KV; 402s carry `bazaar`. */

const BASE = "https://paywall.test";

describe("discovery", () => {
  it("should list the live table's priced rules at /.well-known/x402 without the origin", async () => {
    await putTable();
    const response = await call(new Request(`${BASE}/.well-known/x402`));
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const doc = (await response.json()) as {
      version: string;
      resources: Array<{ resource: string; accepts: unknown[] }>;
    };
    expect(doc.version).toBe(TABLE.version);
    const priced = TABLE.rules.filter((r) => "price" in r);
    expect(doc.resources).toHaveLength(priced.length);
    const article = doc.resources.find((r) => r.resource === `${BASE}/articles/:slug`);
    const challenge = await call(new Request(`${BASE}/articles/x`));
    const offered = decodeHeader<{ accepts: unknown[] }>(challenge.headers.get("PAYMENT-REQUIRED"));
    expect(article?.accepts).toEqual(offered.accepts);
    expect(await originSaw("/.well-known/x402")).toBe(0);

    await putTable({ version: "changed", rules: [{ path: "/only/*", price: "$0.5" }] });
    const changed = (await (await call(new Request(`${BASE}/.well-known/x402`))).json()) as {
      version: string;
      resources: Array<{ resource: string; price: string }>;
    };
    expect(changed).toMatchObject({
      version: "changed",
      resources: [{ resource: `${BASE}/only/*`, price: "$0.5" }],
    });
    const text = await (await call(new Request(`${BASE}/.well-known/x402/llms.txt`))).text();
    expect(text).toContain(`- ANY ${BASE}/only/* ($0.5 on eip155:84532)`);
  });

  it("should declare the bazaar extension with the request's method in a 402", async () => {
    await putTable();
    const challenge = await call(new Request(`${BASE}/api/thing`, { method: "POST", body: "{}" }));
    const required = decodeHeader<{ extensions: Record<string, { info: { input: unknown } }> }>(
      challenge.headers.get("PAYMENT-REQUIRED"),
    );
    expect(required.extensions["bazaar"]?.info.input).toEqual({
      type: "http",
      method: "POST",
      bodyType: "json",
      body: {},
    });
  });
});
