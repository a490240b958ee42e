import { beforeEach, describe, expect, it } from "vitest";
import { directives, directiveName } from "../../src/paywall/cache-control";
import { SESSION_HOST, call, facilitator, paymentFor, putTable, unique } from "./helpers";

/**
 * Paid answers never end up storable by a shared cache, whatever Cache-Control the origin sent:
 * a shared cache holding a paid page serves it to the next client for free.
 */

const BASE = "https://paywall.test";
const SESSIONS = `https://${SESSION_HOST}`;

beforeEach(async () => {
  await putTable();
});

async function paidWith(url: string): Promise<Response> {
  const challenge = await call(new Request(url));
  expect(challenge.status).toBe(402);
  const { header } = paymentFor(challenge);
  const paid = await call(new Request(url, { headers: { "PAYMENT-SIGNATURE": header } }), {
    FACILITATOR_URLS: facilitator("ok"),
  });
  expect(paid.status).toBe(200);
  return paid;
}

function expectPrivate(response: Response): void {
  const names = directives(response.headers.get("Cache-Control") ?? "").map(directiveName);
  expect(names).toContain("private");
  expect(names).not.toContain("public");
  expect(names).not.toContain("s-maxage");
  expect(response.headers.get("Cache-Control")).not.toMatch(/private=/i);
  expect(response.headers.get("CDN-Cache-Control")).toBeNull();
}

const q = (cacheControl: string) => `?origin-cache-control=${encodeURIComponent(cacheControl)}`;

describe("Cache-Control of paid answers", () => {
  it.each<[string, string]>([
    ['public, s-maxage with private="Set-Cookie"', 'public, s-maxage=600, private="Set-Cookie"'],
    ["a qualified private listing two fields", 'private="Set-Cookie, X-Token", s-maxage=600'],
    ["public alone", "public, max-age=600"],
    ["upper-case directives", "PUBLIC, S-MAXAGE=600"],
    ["no-cache qualified, then public", 'no-cache="Set-Cookie", public'],
  ])("should make a paid answer private when the origin sent %s", async (_name, value) => {
    expectPrivate(await paidWith(`${BASE}/api/${unique()}${q(value)}`));
  });

  it("should keep the origin's no-store and max-age beside private", async () => {
    const paid = await paidWith(`${BASE}/api/${unique()}${q("no-store, max-age=0, public")}`);
    expectPrivate(paid);
    expect(directives(paid.headers.get("Cache-Control")!)).toEqual([
      "private",
      "no-store",
      "max-age=0",
    ]);
  });

  it("should drop the origin's CDN-Cache-Control, which a CDN honours over Cache-Control", async () => {
    const url = `${BASE}/api/${unique()}?origin-cdn-cache-control=max-age%3D3600`;
    expectPrivate(await paidWith(url));
  });

  it("should make answers served under a session private as well", async () => {
    const id = unique();
    const value = 'public, s-maxage=600, private="Set-Cookie"';
    const bought = await paidWith(`${SESSIONS}/pass/${id}/a${q(value)}`);
    expectPrivate(bought);
    const token = bought.headers.get("PAYMENT-SESSION")!;
    const used = await call(
      new Request(`${SESSIONS}/pass/${id}/b${q(value)}`, { headers: { "PAYMENT-SESSION": token } }),
    );
    expect(used.status).toBe(200);
    expectPrivate(used);
  });
});
