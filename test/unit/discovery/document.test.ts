import {
  declareDiscoveryExtension,
  validateDiscoveryExtension,
  validateDiscoveryExtensionSpec,
} from "@x402/extensions/bazaar";
import type { DiscoveryExtension } from "@x402/extensions/bazaar";
import { describe, expect, it } from "vitest";
import { bazaarExtension } from "../../../src/discovery/bazaar.ts";
import { discoveryDocument, llmsText } from "../../../src/discovery/document.ts";
import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import { requirementsV2 } from "../../../src/x402/index.ts";
import type { CompiledTable, Offer } from "../../../src/pricing/index.ts";
import { BASE_SEPOLIA, PAY_TO } from "../fixtures.ts";

/** Discovery: the bazaar extension (checked with the official validators) and the documents. */

function compile(json: unknown): CompiledTable {
  const parsed = parsePriceTable(json);
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const compiled = compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
  if (!compiled.ok) throw new Error(compiled.errors.join("; "));
  return compiled.table;
}

const TABLE = {
  version: "disc-1",
  rules: [
    { path: "/robots.txt", free: true },
    {
      path: "/api/weather",
      methods: ["GET"],
      price: "$0.001",
      description: "Weather by city",
      mimeType: "application/json",
      discovery: {
        input: { city: "Lisbon" },
        inputSchema: { properties: { city: { type: "string" } }, required: ["city"] },
        output: { example: { city: "Lisbon", celsius: 21 } },
      },
    },
    {
      path: "/api/search",
      methods: ["POST"],
      price: "$0.002",
      discovery: { bodyType: "json", input: { q: "x402" }, output: { example: ["a", "b"] } },
      paymentIdentifier: "required",
    },
    {
      host: "premium.example",
      path: "/reports/:id",
      price: "$0.05",
      session: { ttl: "1h", uses: 10 },
    },
  ],
};

function offerAt(table: CompiledTable, path: string, method = "GET", host = "shop.example"): Offer {
  const match = table.match({ method, host, path });
  if (match.kind !== "priced") throw new Error(`${path} is free`);
  return match.offer;
}

function officiallyValid(extension: unknown): void {
  const typed = extension as DiscoveryExtension;
  expect(validateDiscoveryExtension(typed)).toEqual({ valid: true });
  const spec = validateDiscoveryExtensionSpec(typed as unknown as Record<string, unknown>);
  expect(spec).toEqual({ valid: true });
}

describe("the bazaar extension", () => {
  const table = compile(TABLE);

  it("should describe a GET resource as the official declaration does, with its method", () => {
    const ours = bazaarExtension(offerAt(table, "/api/weather"), "GET");
    officiallyValid(ours);
    const official = declareDiscoveryExtension({
      input: { city: "Lisbon" },
      inputSchema: { properties: { city: { type: "string" } }, required: ["city"] },
      output: { example: { city: "Lisbon", celsius: 21 } },
    })["bazaar"]!;
    expect(ours?.info).toEqual({
      ...official.info,
      input: { ...official.info.input, method: "GET" },
    });
  });

  it("should describe a POST body and stay valid for every method a rule allows", () => {
    const offer = offerAt(table, "/api/search", "POST");
    const ours = bazaarExtension(offer, "POST");
    officiallyValid(ours);
    expect(ours?.info["input"]).toMatchObject({
      method: "POST",
      bodyType: "json",
      body: { q: "x402" },
    });
    for (const method of ["GET", "HEAD", "DELETE", "PUT", "PATCH"]) {
      officiallyValid(bazaarExtension(offer, method));
    }
    expect(bazaarExtension(offer, "OPTIONS")).toBeUndefined();
  });

  it("should declare a minimal valid description for a rule without a discovery block", () => {
    officiallyValid(bazaarExtension(offerAt(table, "/reports/1", "GET", "premium.example"), "GET"));
  });

  it("should build each extension once per offer and method", () => {
    const offer = offerAt(table, "/api/weather");
    expect(bazaarExtension(offer, "GET")).toBe(bazaarExtension(offer, "GET"));
  });

  it("should refuse a discovery block with unknown fields or a bad body type", () => {
    const bad = (discovery: unknown) =>
      parsePriceTable({ rules: [{ path: "/x", price: "$0.01", discovery }] });
    expect(bad({ extra: 1 }).ok).toBe(false);
    expect(bad({ bodyType: "xml" }).ok).toBe(false);
    expect(bad({ output: { example: 1, other: 2 } }).ok).toBe(false);
  });
});

describe("the discovery documents", () => {
  const table = compile(TABLE);

  it("should list every priced rule with the exact terms a payment must match", () => {
    const doc = discoveryDocument(table, "https://shop.example");
    expect(doc.version).toBe("disc-1");
    expect(doc.resources.map((r) => r.resource)).toEqual([
      "https://shop.example/api/weather",
      "https://shop.example/api/search",
      "https://premium.example/reports/:id",
    ]);
    const [weather, search, reports] = doc.resources;
    expect(weather?.accepts).toEqual([requirementsV2(offerAt(table, "/api/weather"))]);
    expect(weather).toMatchObject({ methods: ["GET"], price: "$0.001", payer: "everyone" });
    expect(search?.paymentIdentifier).toBe("required");
    expect(reports?.session).toEqual({ scope: "route", ttlSeconds: 3600, uses: 10 });
    expect(reports?.accepts?.[0]?.amount).toBe("50000");
    officiallyValid(weather?.extensions?.["bazaar"]);
  });

  it("should say in llms.txt what each resource costs and where the JSON is", () => {
    const text = llmsText(table, "https://shop.example");
    expect(text).toContain(
      "- GET https://shop.example/api/weather: Weather by city ($0.001 on eip155:84532)",
    );
    expect(text).toContain("payment-identifier required");
    expect(text).toContain("one payment buys a pass (3600 s or 10 uses, scope route)");
    expect(text).toContain("Machine-readable: https://shop.example/.well-known/x402");
  });

  it("should describe an origin-named payee truthfully, not as `on ?` nor an empty accepts", () => {
    const origin = compile({
      rules: [{ path: "/shops/*", price: "$0.003", payee: { from: "origin" } }],
    });
    const [shop] = discoveryDocument(origin, "https://shop.example").resources;
    expect(shop).toMatchObject({
      price: "$0.003",
      networks: [BASE_SEPOLIA],
      payee: "set per request by the origin",
    });
    expect(shop).not.toHaveProperty("accepts");
    const text = llmsText(origin, "https://shop.example");
    expect(text).toContain(
      "- ANY https://shop.example/shops/* ($0.003 on eip155:84532; payee set per request by the origin (its 402 states the terms))",
    );
    expect(text).not.toContain("?");
  });

  it("should give methods as an array in every entry, ['*'] for a rule allowing every method", () => {
    const doc = discoveryDocument(table, "https://shop.example");
    for (const resource of doc.resources) expect(Array.isArray(resource.methods)).toBe(true);
    expect(doc.resources.map((r) => r.methods)).toEqual([["GET"], ["POST"], ["*"]]);
  });

  it("should not declare a GET bazaar for a rule that allows every method", () => {
    const doc = discoveryDocument(table, "https://shop.example");
    const reports = doc.resources.find((r) => r.resource.endsWith("/reports/:id"));
    expect(reports?.methods).toEqual(["*"]);
    expect(reports?.extensions).toBeUndefined();
    const search = doc.resources.find((r) => r.resource.endsWith("/api/search"));
    const bazaar = search?.extensions?.["bazaar"] as { info: { input: { method: string } } };
    expect(bazaar.info.input.method).toBe("POST");
  });

  it("should name each resource's rule by its stable id", () => {
    const named = compile({
      rules: [
        { id: "weather", path: "/api/weather", price: "$0.001" },
        { path: "/api/*", methods: ["POST"], price: "$0.002" },
      ],
    });
    const doc = discoveryDocument(named, "https://shop.example");
    expect(doc.resources.map((r) => r.rule)).toEqual(["weather", "POST /api/*"]);
  });

  it("should list nothing when nothing is priced", () => {
    const free = compile({ rules: [{ path: "/*", free: true }] });
    expect(discoveryDocument(free, "https://a.example").resources).toEqual([]);
    expect(llmsText(free, "https://a.example")).toContain("nothing is priced right now");
  });
});
