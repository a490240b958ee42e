import { beforeEach, describe, expect, it } from "vitest";
import {
  TABLE,
  call,
  decodeHeader,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Only an answer that delivers the content is charged: redirects and 304s from the origin go to
 * the client unsettled (the authorization stays unspent), and a HEAD on a priced route is never
 * paid for, never forwarded as a paid request, and leaves no claim behind.
 */

const BASE = "https://paywall.test";

beforeEach(async () => {
  await putTable({
    ...TABLE,
    rules: [
      { path: "/redirect-once/*", price: "$0.001" },
      { path: "/json-break/*", price: "$0.001" },
      ...TABLE.rules,
    ],
  });
});

async function payment(url: string) {
  const challenge = await call(new Request(url));
  expect(challenge.status).toBe(402);
  return paymentFor(challenge);
}

function send(url: string, header: string, method = "GET"): Promise<Response> {
  return call(new Request(url, { method, headers: { "PAYMENT-SIGNATURE": header } }));
}

async function ops(nonce: string): Promise<string[]> {
  return (await facilitatorCalls(nonce)).map((c) => c.op);
}

describe("answers that deliver no content", () => {
  it("should pass a 302 on unsettled and let the same authorization buy the page after it (regression: redirects were charged)", async () => {
    const path = `/redirect-once/${unique()}`;
    const { header, nonce } = await payment(`${BASE}${path}`);
    const redirect = await send(`${BASE}${path}`, header);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("Location")).toBe(`${path}/`);
    expect(redirect.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await ops(nonce)).toEqual(["verify"]);
    // The claim was let go: the same payment now buys the page, settled once.
    const page = await send(`${BASE}${path}`, header);
    expect(page.status).toBe(200);
    expect(decodeHeader(page.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ success: true });
    expect(await ops(nonce)).toEqual(["verify", "verify", "settle"]);
    expect(await originSaw(path)).toBe(2);
  });

  it("should pass a 304 on unsettled and leave the authorization unspent (regression: 304s were charged)", async () => {
    const path = `/status/304/${unique()}`;
    const { header, nonce } = await payment(`${BASE}${path}`);
    const first = await send(`${BASE}${path}`, header);
    expect(first.status).toBe(304);
    expect(first.headers.get("PAYMENT-RESPONSE")).toBeNull();
    const again = await send(`${BASE}${path}`, header);
    expect(again.status).toBe(304);
    expect(await ops(nonce)).toEqual(["verify", "verify"]);
  });
});

describe("answers that deliver content", () => {
  it.each(["200", "204", "206"])("should settle a %s", async (status) => {
    const path = `/status/${status}/${unique()}`;
    const { header, nonce } = await payment(`${BASE}${path}`);
    const response = await send(`${BASE}${path}`, header);
    expect(response.status).toBe(Number(status));
    expect(decodeHeader(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ success: true });
    expect(await ops(nonce)).toEqual(["verify", "settle"]);
  });
});

describe("HEAD on a priced route", () => {
  it("should answer a paid HEAD with the challenge, reach no origin and settle nothing (regression: a paid HEAD was settled)", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = await payment(`${BASE}${path}`);
    const head = await send(`${BASE}${path}`, header, "HEAD");
    expect(head.status).toBe(402);
    expect(head.headers.get("PAYMENT-REQUIRED")).toBeTruthy();
    expect(head.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await head.text()).toBe("");
    expect(await originSaw(path)).toBe(0);
    expect(await ops(nonce)).toEqual([]);
    // No claim was left behind: the same payment buys the GET.
    const get = await send(`${BASE}${path}`, header);
    expect(get.status).toBe(200);
    expect(await ops(nonce)).toEqual(["verify", "settle"]);
  });
});

describe("a paid answer whose body breaks", () => {
  it("should charge nothing for a short answer whose body breaks before it is read, and let the same authorization be used again (regression: settled on its headers, then the body broke)", async () => {
    const path = `/json-break/${unique()}`;
    const { header, nonce } = await payment(`${BASE}${path}`);
    const broken = await send(`${BASE}${path}`, header);
    expect(broken.status).toBe(502);
    expect(await broken.json()).toMatchObject({ error: "origin_unreachable" });
    expect(broken.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await ops(nonce)).toEqual(["verify"]);
    // The claim was let go, not left pending or busy: the same payment is worked on again.
    const again = await send(`${BASE}${path}`, header);
    expect(again.status).toBe(502);
    expect(await ops(nonce)).toEqual(["verify", "verify"]);
  });
});
