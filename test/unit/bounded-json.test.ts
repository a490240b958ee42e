import { describe, expect, it } from "vitest";
import { HEADER_JSON_LIMITS, parseBoundedJson } from "../../src/bounded-json.ts";
import { bazaarExtension } from "../../src/discovery/bazaar.ts";
import { paymentIdentifierDeclaration, stableJson } from "../../src/idempotency/claim.ts";
import { decodePayment } from "../../src/x402/index.ts";
import { compileTable, parsePriceTable } from "../../src/pricing/index.ts";
import { siwxChallenge } from "../../src/sessions/siwx.ts";
import { BASE_SEPOLIA, PAY_TO, paymentV2, toBase64 } from "./fixtures.ts";

/** Client JSON read with bounded depth and size (payment and sign-in headers). */

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("parseBoundedJson", () => {
  it("should refuse 5000-deep arrays before JSON.parse, never overflowing the stack", () => {
    const result = parseBoundedJson(nested(5000));
    expect(result).toEqual({
      ok: false,
      kind: "limit",
      reason: `is JSON nested deeper than ${HEADER_JSON_LIMITS.maxDepth} levels`,
    });
  });

  it("should take JSON exactly at the depth limit and refuse one level more", () => {
    const { maxDepth } = HEADER_JSON_LIMITS;
    expect(parseBoundedJson(nested(maxDepth)).ok).toBe(true);
    expect(parseBoundedJson(nested(maxDepth + 1)).ok).toBe(false);
    const objects = '{"a":'.repeat(maxDepth + 1) + "0" + "}".repeat(maxDepth + 1);
    expect(parseBoundedJson(objects)).toMatchObject({ ok: false, kind: "limit" });
  });

  it("should not count brackets inside strings, escaped quotes included", () => {
    const text = JSON.stringify({ a: "[".repeat(500), b: '\\"[[[[', c: "\\" });
    expect(parseBoundedJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it("should refuse a very wide object or array by its number of values", () => {
    const wide = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`k${i}`, 0]));
    expect(parseBoundedJson(JSON.stringify(wide))).toEqual({
      ok: false,
      kind: "limit",
      reason: `is JSON with more than ${HEADER_JSON_LIMITS.maxValues} values`,
    });
    expect(parseBoundedJson(JSON.stringify(new Array(5000).fill(0))).ok).toBe(false);
    expect(parseBoundedJson(JSON.stringify(new Array(999).fill(0))).ok).toBe(true);
  });

  it("should tell broken JSON from JSON over the limits", () => {
    expect(parseBoundedJson('{"a":')).toEqual({
      ok: false,
      kind: "syntax",
      reason: "does not decode to JSON",
    });
    // Unbalanced closing brackets do not hide deeper nesting.
    expect(parseBoundedJson("]]]]" + nested(100))).toMatchObject({ kind: "limit" });
  });

  it("should take a payment that echoes every extension of a rich 402", async () => {
    const parsed = parsePriceTable({
      rules: [
        {
          path: "/api/search",
          methods: ["POST"],
          price: "$0.002",
          session: { ttl: "1h" },
          discovery: {
            input: { q: "x402", filters: { tags: ["a", "b"], range: { from: 1, to: 9 } } },
            inputSchema: {
              properties: {
                q: { type: "string" },
                filters: {
                  type: "object",
                  properties: {
                    tags: { type: "array", items: { type: "string" } },
                    range: {
                      type: "object",
                      properties: { from: { type: "number" }, to: { type: "number" } },
                    },
                  },
                },
              },
              required: ["q"],
            },
            output: { example: { hits: [{ id: 1, title: "x402", score: 0.9 }], total: 1 } },
          },
        },
      ],
    });
    if (!parsed.ok) throw new Error(parsed.errors.join("; "));
    const compiled = compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
    if (!compiled.ok) throw new Error(compiled.errors.join("; "));
    const match = compiled.table.match({
      method: "POST",
      host: "shop.example",
      path: "/api/search",
    });
    if (match.kind !== "priced") throw new Error("free");
    const url = new URL("https://shop.example/api/search");
    const extensions = {
      "payment-identifier": paymentIdentifierDeclaration(true),
      bazaar: bazaarExtension(match.offer, "POST"),
      "sign-in-with-x": await siwxChallenge({
        url,
        resourceUrl: url.href,
        network: BASE_SEPOLIA,
        scope: "route:shop.example * POST /api/search",
        secret: "s".repeat(32),
        statement: "Sign in",
      }),
    };
    const payment = { ...paymentV2(), extensions };
    const decoded = decodePayment(new Headers({ "PAYMENT-SIGNATURE": toBase64(payment) }));
    expect(decoded.type).toBe("v2");
  });

  it("should leave nothing a recursive walk cannot handle", () => {
    const result = parseBoundedJson(nested(HEADER_JSON_LIMITS.maxDepth));
    expect(result.ok).toBe(true);
    if (result.ok) expect(() => stableJson(result.value)).not.toThrow();
  });
});
