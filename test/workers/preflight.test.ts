import { beforeEach, describe, expect, it } from "vitest";
import {
  SESSION_HOST,
  call,
  facilitator,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * CORS preflights (an OPTIONS with `Origin` and `Access-Control-Request-Method`, Fetch §4.8) are
 * never priced: a browser sends one before a cross-origin call with a payment header, and a 402
 * to it stops the call before it can pay. The preflight goes to the origin without a body, and
 * its answer comes back without one, so it carries no paid request's effect. A plain OPTIONS is
 * an ordinary request and stays priced.
 */

const BASE = "https://paywall.test";
const SESSIONS = `https://${SESSION_HOST}`;
const SITE = "https://app.example";

beforeEach(async () => {
  await putTable();
});

function preflight(url: string, init: RequestInit & { requestHeaders?: string } = {}): Request {
  const headers = new Headers(init.headers);
  headers.set("Origin", SITE);
  headers.set("Access-Control-Request-Method", "POST");
  if (init.requestHeaders) headers.set("Access-Control-Request-Headers", init.requestHeaders);
  return new Request(url, { ...init, method: "OPTIONS", headers });
}

describe("CORS preflights", () => {
  it.each<[string, string]>([
    ["a priced API rule without methods", `${BASE}/api/`],
    ["a session rule with a path parameter", `${SESSIONS}/one/`],
    ["a session rule", `${SESSIONS}/pass/`],
    ["a GET-only rule", `${BASE}/articles/`],
  ])("should forward a preflight on %s to the origin, free", async (_name, prefix) => {
    const id = unique();
    const url = `${prefix}${id}`;
    const response = await call(preflight(url), { FACILITATOR_URLS: facilitator(`pf-${id}`) });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(SITE);
    expect(response.headers.get("x-origin-saw-method")).toBe("OPTIONS");
    expect(response.headers.get("PAYMENT-REQUIRED")).toBeNull();
    expect(await originSaw(new URL(url).pathname)).toBe(1);
  });

  it("should send a preflight's body to neither the origin nor the client, and charge nothing", async () => {
    const path = `/api/${unique()}`;
    const challenge = await call(new Request(`${BASE}${path}`));
    const { header, nonce } = paymentFor(challenge);
    const response = await call(
      preflight(`${BASE}${path}`, {
        headers: { "PAYMENT-SIGNATURE": header, "Content-Type": "text/plain" },
        body: "a paid POST's body riding on a preflight",
      }),
      { FACILITATOR_URLS: facilitator("ok") },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-origin-saw-body-bytes")).toBe("0");
    expect(response.headers.get("x-origin-saw-headers")).not.toMatch(/payment-signature/);
    expect(await response.text()).toBe("");
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await facilitatorCalls(nonce)).toEqual([]);
    expect(await originSaw(path)).toBe(1);
  });

  it("should spend no use of a pass whose token rides on a preflight", async () => {
    const id = unique();
    const paid = await call(
      new Request(`${SESSIONS}/pass/${id}/a`, {
        headers: {
          "PAYMENT-SIGNATURE": paymentFor(await call(new Request(`${SESSIONS}/pass/${id}/a`)))
            .header,
        },
      }),
      { FACILITATOR_URLS: facilitator("ok") },
    );
    expect(paid.status).toBe(200);
    expect(paid.headers.get("PAYMENT-SESSION-REMAINING")).toBe("2");
    const token = paid.headers.get("PAYMENT-SESSION")!;
    const flight = await call(
      preflight(`${SESSIONS}/pass/${id}/b`, { headers: { "PAYMENT-SESSION": token } }),
    );
    expect(flight.status).toBe(200);
    expect(flight.headers.get("PAYMENT-SESSION-REMAINING")).toBeNull();
    const used = await call(
      new Request(`${SESSIONS}/pass/${id}/c`, { headers: { "PAYMENT-SESSION": token } }),
    );
    expect(used.status).toBe(200);
    expect(used.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
  });

  it("should let the origin's CORS answer allow the payment headers the browser asks to send", async () => {
    const response = await call(
      preflight(`${BASE}/api/${unique()}`, {
        requestHeaders: "content-type, payment-signature, x-custom",
      }),
    );
    expect(response.status).toBe(200);
    const allowed = (response.headers.get("Access-Control-Allow-Headers") ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase());
    expect(allowed).toEqual(expect.arrayContaining(["content-type", "payment-signature"]));
    // Only the paywall's own headers are added; the origin decides on the rest.
    expect(allowed).not.toContain("x-custom");
  });

  it("should still price a plain OPTIONS (no Access-Control-Request-Method) on a priced rule", async () => {
    const id = unique();
    const response = await call(
      new Request(`${BASE}/api/${id}`, { method: "OPTIONS", headers: { Origin: SITE } }),
    );
    expect(response.status).toBe(402);
    expect(await originSaw(`/api/${id}`)).toBe(0);
  });
});
