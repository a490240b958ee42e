import { beforeEach, describe, expect, inject, it } from "vitest";
import devTable from "../../dev/prices.json";
import { crawl, crawlTable } from "./crawler-helpers";
import { PAY_TO, TABLE, call, decodeHeader, putTable, unique } from "./helpers";

/**
 * The 402 as a near-constant (src/x402/required-template.ts, src/paywall/challenge-extensions.ts):
 * built once per compiled table version and the same on every request but for the request's
 * own parts, rebuilt by a new table, small, and answered without crawler identification where
 * the table has no crawler terms.
 */

const LOCAL = "http://127.0.0.1:8787";

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return call(new Request(url, { headers: { accept: "application/json", ...headers } }));
}

type Required = {
  resource: { url: string };
  accepts: Array<{ amount: string; payTo: string }>;
  extensions: Record<string, { info: Record<string, unknown>; schema: Record<string, unknown> }>;
};

function required(response: Response): Required {
  return decodeHeader<Required>(response.headers.get("PAYMENT-REQUIRED"));
}

/** The JSON of a 402's header and body with the resource URL replaced by a marker. */
async function masked(response: Response, url: string): Promise<[string, string]> {
  const header = atob(response.headers.get("PAYMENT-REQUIRED") ?? "");
  const body = await response.text();
  const mark = (text: string) => text.split(JSON.stringify(url)).join('"URL"');
  return [mark(header), mark(body)];
}

describe("the 402 built once per table version", () => {
  beforeEach(async () => {
    await putTable(devTable);
  });

  it("should answer two requests on a rule with the same bytes but for the resource URL", async () => {
    const one = `${LOCAL}/api/${unique()}`;
    const two = `${LOCAL}/api/${unique()}?page=2`;
    const first = await get(one);
    const second = await get(two);
    expect(first.status).toBe(402);
    expect(await masked(first, one)).toEqual(await masked(second, two));
  });

  it("should differ on a session route only in the URL and the sign-in challenge", async () => {
    const one = `${LOCAL}/api/pass/${unique()}`;
    const two = `${LOCAL}/api/pass/${unique()}`;
    const [first, second] = [required(await get(one)), required(await get(two))];
    const firstInfo = first.extensions["sign-in-with-x"]!.info;
    expect(firstInfo["nonce"]).not.toBe(second.extensions["sign-in-with-x"]!.info["nonce"]);
    expect(firstInfo["uri"]).toBe(one);
    for (const each of [first, second]) {
      each.resource.url = "URL";
      each.extensions["sign-in-with-x"]!.info = {};
    }
    expect(first).toStrictEqual(second);
  });

  it("should rebuild the 402 when a new table is stored: no stale price or payee", async () => {
    const url = `https://paywall.test/api/${unique()}`;
    await putTable(TABLE);
    const before = required(await get(url)).accepts[0]!;
    expect(before).toMatchObject({ amount: "1000", payTo: PAY_TO });
    const payee = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
    const rules = TABLE.rules.map((rule) =>
      rule.path === "/api/*" ? { ...rule, price: "$0.004", payTo: payee } : rule,
    );
    await putTable({ ...TABLE, version: "test-2", rules });
    const after = required(await get(url)).accepts[0]!;
    expect(after).toMatchObject({ amount: "4000", payTo: payee });
    expect(JSON.parse(await (await get(url)).text())).toMatchObject({
      accepts: [{ maxAmountRequired: "4000", payTo: payee }],
    });
  });
});

describe("the size of a 402", () => {
  beforeEach(async () => {
    await putTable(devTable);
  });

  it("should keep the dev table's PAYMENT-REQUIRED for /api/hello small", async () => {
    const response = await get(`${LOCAL}/api/hello`);
    // Measured: 1,244 characters (1,396 with the schemas' $schema URLs); V1 body 543.
    expect(response.headers.get("PAYMENT-REQUIRED")!.length).toBeLessThanOrEqual(1250);
    expect((await response.text()).length).toBeLessThanOrEqual(550);
  });

  it("should keep a session route's PAYMENT-REQUIRED small", async () => {
    const response = await get(`${LOCAL}/api/pass/x`);
    // Measured: 2,848 characters (3,076 with the three $schema URLs); V1 body 574.
    expect(response.headers.get("PAYMENT-REQUIRED")!.length).toBeLessThanOrEqual(2850);
    expect((await response.text()).length).toBeLessThanOrEqual(580);
  });

  it("should declare each extension with its info and schema, and no $schema URL", async () => {
    const { extensions } = required(await get(`${LOCAL}/api/pass/${unique()}`));
    expect(Object.keys(extensions)).toEqual(["payment-identifier", "bazaar", "sign-in-with-x"]);
    for (const extension of Object.values(extensions)) {
      expect(extension.info).toBeTypeOf("object");
      expect(extension.schema).toMatchObject({ type: "object" });
      expect(extension.schema).not.toHaveProperty("$schema");
    }
  });
});

describe("crawler identification only where the table has crawler terms", () => {
  it("should not check a signature on a table without crawler terms", async () => {
    await putTable(TABLE);
    const path = `/api/${unique()}`;
    // A malformed Signature-Agent, and a key directory that cannot be reached: neither is read.
    for (const agent of ["not a directory", inject("deadDirectory")]) {
      const response = await crawl(path, { agent });
      expect(response.status).toBe(402);
      expect(response.headers.get("crawler-error")).toBeNull();
    }
  });

  it("should still check every request's signature on a table with crawler terms", async () => {
    await putTable(crawlTable());
    const path = `/articles/${unique()}`;
    const malformed = await crawl(path, { agent: "not a directory" });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("crawler-error")).toBe("InvalidSignature");
    const unreachable = await crawl(path, { agent: inject("deadDirectory") });
    expect(unreachable.status).toBe(502);
    expect(unreachable.headers.get("crawler-error")).toBe("InternalError");
  });
});
