import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { tally } from "../support/tally";
import { call, putTable, unique } from "./helpers";

/**
 * The bypass catalogue: every way we know to reach a priced response without paying — other
 * spellings of a priced path, spoofed hosts and forwarding headers, absolute-form targets,
 * other methods and method overrides, the paywall's own prefix — sent inside workerd. None may
 * get a priced response for free: a priced spelling gets 400 or 402 and the origin sees nothing
 * of it; a free one reaches the configured origin only with headers the paywall controls; a
 * second origin the Worker is not configured with (the decoy) never sees a request at all.
 */

const BASE = "https://paywall.test";
const PREMIUM = "premium.test";

const TABLE = {
  version: "bypass-1",
  rules: [
    { path: "/api/free/*", free: true },
    { path: "/api/*", price: "$0.001" },
    { path: "/articles/:slug", methods: ["GET"], price: "$0.01" },
    { path: "/edit/*", methods: ["PATCH", "PUT"], price: "$0.01" },
    { host: PREMIUM, path: "/*", price: "$0.25" },
  ],
};

const cases = tally("bypass (workerd)");

beforeEach(async () => {
  await putTable(TABLE);
});

afterAll(async () => {
  cases.report();
  // Nothing of this file, nor of any other, was ever sent to an origin the Worker is not given.
  expect(await seen(inject("decoyUrl"))).toBe(0);
});

/** Requests the fake origin at `base` saw whose raw path holds `part` (all of them without). */
async function seen(base: string, part?: string): Promise<number> {
  const query = part === undefined ? "" : `?contains=${encodeURIComponent(part)}`;
  const response = await fetch(`${base}/__seen${query}`);
  return ((await response.json()) as { count: number }).count;
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
}

/** Sends a request and checks it was not served: 400/402/404, nothing reached either origin. */
async function refused(request: Request, id: string, statuses = [400, 402]): Promise<Response> {
  const response = await call(request);
  expect(statuses).toContain(response.status);
  expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
  if (response.status === 400) expect(await response.json()).toMatchObject({ error: "bad_path" });
  expect(await seen(inject("originUrl"), id)).toBe(0);
  expect(await seen(inject("decoyUrl"), id)).toBe(0);
  return response;
}

describe("spellings of a priced path", () => {
  it.each<[string, (id: string) => string, number[]?]>([
    ["upper case", (id) => `/API/${id}`],
    ["mixed case", (id) => `/aPi/${id}`],
    ["a dot segment", (id) => `/api/./${id}`],
    ["a dot-dot segment", (id) => `/api/free/../${id}`],
    ["an encoded dot-dot", (id) => `/api/free/%2e%2e/${id}`],
    ["an upper-case encoded dot-dot", (id) => `/api/free/%2E%2E/${id}`],
    ["a half-encoded dot-dot", (id) => `/api/free/.%2e/${id}`],
    ["a doubly encoded dot-dot", (id) => `/api/free/%252e%252e/${id}`, [400]],
    ["a doubly encoded letter", (id) => `/%2561pi/${id}`, [400]],
    ["doubled slashes", (id) => `//api//${id}`],
    ["a trailing slash", (id) => `/api/${id}/`],
    ["two trailing slashes", (id) => `/api/${id}//`],
    ["a trailing dot segment", (id) => `/api/${id}/.`],
    ["a matrix parameter", (id) => `/api;x=1/${id}`],
    ["a ..; segment", (id) => `/api/free/..;/${id}`, [400]],
    ["an encoded slash", (id) => `/api%2F${id}`],
    ["an encoded slash in lower case", (id) => `/api%2f${id}`],
    ["an encoded backslash", (id) => `/api%5C${id}`],
    ["a dot-dot and an encoded slash", (id) => `/api/free/..%2F${id}`],
    ["a dot-dot and an encoded backslash", (id) => `/api/free/%2e%2e%5c${id}`],
    ["full-width letters", (id) => `/%EF%BD%81%EF%BD%90%EF%BD%89/${id}`],
    ["full-width dots", (id) => `/api/free/%EF%BC%8E%EF%BC%8E/${id}`, [400]],
    ["a two-dot leader", (id) => `/api/free/%E2%80%A5/${id}`, [400]],
    ["a full-width solidus", (id) => `/api/free%EF%BC%8F..%EF%BC%8F${id}`, [400]],
    ["overlong UTF-8 dots", (id) => `/api/free/%C0%AE%C0%AE/${id}`, [400]],
    ["an overlong UTF-8 slash", (id) => `/api%C0%AF${id}`, [400]],
    ["three-byte overlong dots", (id) => `/api/free/%E0%80%AE%E0%80%AE/${id}`, [400]],
    ["a NUL byte", (id) => `/api/%00${id}`, [400]],
    ["a tab", (id) => `/api/free/..%09/${id}`, [400]],
    ["a long-s look-alike in a free prefix", (id) => `/api/free%C5%BF/../${id}`],
    ["a free path in the query", (id) => `/api/${id}?/api/free/x`],
    ["three dots (regression: a ... segment was forwarded)", (id) => `/api/free/.../${id}`, [400]],
  ])("should not serve /api/<id> spelled with %s for free", async (_name, spell, statuses) => {
    await cases.run(async () => {
      const id = unique();
      await refused(new Request(`${BASE}${spell(id)}`), id, statuses);
    });
  });

  it.each<[string, (id: string) => string]>([
    ["a trailing dot on a segment", (id) => `/api./${id}`],
    ["an encoded space after a segment", (id) => `/api%20/${id}`],
  ])(
    "should forward a path with %s only as that other resource, never as the priced one",
    async (_name, spell) => {
      await cases.run(async () => {
        const id = unique();
        const response = await call(new Request(`${BASE}${spell(id)}`));
        expect(response.status).toBe(200);
        const echo = (await response.json()) as Echo;
        expect(echo.url).toBe(spell(id));
        expect(await seen(inject("originUrl"), `/api/${id}`)).toBe(0);
      });
    },
  );
});

describe("hosts, forwarding headers and request targets", () => {
  it.each<[string, (id: string) => Request]>([
    ["the priced host in upper case", (id) => new Request(`https://PREMIUM.TEST/${id}`)],
    [
      "the priced host with a trailing dot (regression: a fully qualified host was free)",
      (id) => new Request(`https://${PREMIUM}./${id}`),
    ],
    ["the priced host with a port", (id) => new Request(`https://${PREMIUM}:8443/${id}`)],
    ["the priced host over plain HTTP", (id) => new Request(`http://${PREMIUM}/${id}`)],
    [
      "an absolute-form target naming the decoy origin",
      (id) => new Request(`${inject("decoyUrl")}/api/${id}`),
    ],
  ])("should price %s", async (_name, build) => {
    await cases.run(async () => {
      const id = unique();
      await refused(build(id), id, [402]);
    });
  });

  /** A free request carrying spoofing headers: it may reach the origin, but only as itself. */
  it.each<[string, Record<string, string>]>([
    ["X-Forwarded-Host naming the priced host", { "X-Forwarded-Host": PREMIUM }],
    ["X-Forwarded-Proto", { "X-Forwarded-Proto": "gopher" }],
    [
      "Forwarded naming the priced host (regression: spoofing headers reached the origin)",
      { Forwarded: `host=${PREMIUM};proto=https` },
    ],
    [
      "X-Original-Host (regression: spoofing headers reached the origin)",
      { "X-Original-Host": PREMIUM },
    ],
    ["X-Host (regression: spoofing headers reached the origin)", { "X-Host": PREMIUM }],
    [
      "X-Forwarded-Server (regression: spoofing headers reached the origin)",
      { "X-Forwarded-Server": PREMIUM },
    ],
    [
      "X-Original-URL naming a priced path (regression: spoofing headers reached the origin)",
      { "X-Original-URL": "/api/secret" },
    ],
    [
      "X-Rewrite-URL naming a priced path (regression: spoofing headers reached the origin)",
      { "X-Rewrite-URL": "/api/secret" },
    ],
    ["a payer header", { "x-payer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }],
  ])("should not let %s reach the origin", async (name, headers) => {
    await cases.run(async () => {
      const id = unique();
      const response = await call(new Request(`${BASE}/free-${id}`, { headers }));
      expect(response.status).toBe(200);
      const echo = (await response.json()) as Echo;
      expect(echo.headers["x-forwarded-host"]).toBe("paywall.test");
      expect(echo.headers["x-forwarded-proto"]).toBe("https");
      for (const header of Object.keys(headers).map((h) => h.toLowerCase())) {
        if (header === "x-forwarded-host" || header === "x-forwarded-proto") continue;
        expect(echo.headers[header], `${name} reached the origin`).toBeUndefined();
      }
      expect(await seen(inject("decoyUrl"), id)).toBe(0);
    });
  });

  it.each<[string, (id: string, decoy: string) => string]>([
    ["a protocol-relative path naming the decoy", (id, decoy) => `//${decoy}/api/free/${id}`],
    ["an encoded protocol-relative path", (id, decoy) => `/%2F%2F${decoy}/api/free/${id}`],
    ["a user-info path naming the decoy", (id, decoy) => `/@${decoy}/api/free/${id}`],
    ["a backslash path naming the decoy", (id, decoy) => `/%5C%5C${decoy}/api/free/${id}`],
  ])("should send %s to the configured origin only", async (_name, spell) => {
    await cases.run(async () => {
      const id = unique();
      const decoy = new URL(inject("decoyUrl")).host;
      const response = await call(new Request(`${BASE}${spell(id, decoy)}`));
      expect([200, 400]).toContain(response.status);
      expect(await seen(inject("decoyUrl"), id)).toBe(0);
      if (response.status === 200) expect(await seen(inject("originUrl"), id)).toBe(1);
    });
  });
});

describe("methods on priced routes", () => {
  it.each<[string, string, string]>([
    ["HEAD on a GET-priced article", "HEAD", "/articles/"],
    ["HEAD on an API route", "HEAD", "/api/"],
    ["OPTIONS on an API route", "OPTIONS", "/api/"],
    ["DELETE on an API route", "DELETE", "/api/"],
    ["PROPFIND on an API route", "PROPFIND", "/api/"],
    ["PURGE on an API route", "PURGE", "/api/"],
    ["PATCH on a PATCH-priced route", "PATCH", "/edit/"],
    ["lower-case patch on a PATCH-priced route", "patch", "/edit/"],
    ["mixed-case Put on a PUT-priced route", "Put", "/edit/"],
    ["lower-case get on a GET-priced article", "get", "/articles/"],
  ])("should price %s", async (_name, method, prefix) => {
    await cases.run(async () => {
      const id = unique();
      await refused(new Request(`${BASE}${prefix}${id}`, { method }), id, [402]);
    });
  });

  it.each<[string, string, Record<string, string>]>([
    [
      "X-HTTP-Method-Override: GET (regression: method overrides reached the origin)",
      "POST",
      { "X-HTTP-Method-Override": "GET" },
    ],
    [
      "X-HTTP-Method: GET (regression: method overrides reached the origin)",
      "POST",
      { "X-HTTP-Method": "GET" },
    ],
    [
      "X-Method-Override: GET (regression: method overrides reached the origin)",
      "POST",
      { "X-Method-Override": "GET" },
    ],
  ])(
    "should never let an origin read a free POST to an article as a GET via %s",
    async (_name, method, headers) => {
      await cases.run(async () => {
        const id = unique();
        const response = await call(
          new Request(`${BASE}/articles/${id}`, { method, headers, body: "" }),
        );
        if (response.status === 200) {
          const echo = (await response.json()) as Echo;
          expect(echo.method).toBe("POST");
          for (const header of Object.keys(headers)) {
            expect(echo.headers[header.toLowerCase()]).toBeUndefined();
          }
        } else {
          expect([400, 402]).toContain(response.status);
          expect(await seen(inject("originUrl"), id)).toBe(0);
        }
      });
    },
  );

  it("should pass an OPTIONS preflight on a GET-only article to the origin as OPTIONS", async () => {
    await cases.run(async () => {
      const id = unique();
      const response = await call(new Request(`${BASE}/articles/${id}`, { method: "OPTIONS" }));
      expect(response.status).toBe(200);
      expect(((await response.json()) as Echo).method).toBe("OPTIONS");
    });
  });
});

describe("the paywall's own prefix", () => {
  it.each<[string, (id: string) => string, number[]]>([
    ["the admin API without a token", (id) => `/__x402/admin/receipts-${id}`, [401, 404]],
    ["the prefix in upper case", (id) => `/__X402/admin/${id}`, [404]],
    ["the prefix percent-encoded", (id) => `/%5F%5Fx402/admin/${id}`, [401, 404]],
    ["doubled slashes", (id) => `//__x402//admin/${id}`, [401, 404]],
    ["a matrix parameter", (id) => `/__x402;a=1/admin/${id}`, [404]],
    ["an encoded dot-dot before it", (id) => `/x/%2e%2e/__x402/admin/${id}`, [401, 404]],
    ["an encoded slash inside it", (id) => `/__x402%2Fadmin/${id}`, [404]],
    ["full-width low lines", (id) => `/%EF%BC%BF%EF%BC%BFx402/admin/${id}`, [404]],
    ["the dashboard without a token", (id) => `/__x402/dashboard/${id}`, [401, 403, 404]],
    ["an unknown paywall path", (id) => `/__x402/${id}`, [404]],
  ])("should never proxy %s", async (_name, spell, statuses) => {
    await cases.run(async () => {
      const id = unique();
      const response = await call(new Request(`${BASE}${spell(id)}`));
      expect(statuses).toContain(response.status);
      expect(await seen(inject("originUrl"), id)).toBe(0);
      expect(await seen(inject("decoyUrl"), id)).toBe(0);
    });
  });
});
