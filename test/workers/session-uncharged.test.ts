import { beforeEach, describe, expect, it } from "vitest";
import { SESSION_HOST, call, originSaw, paymentFor, putTable, unique } from "./helpers";

/**
 * A pass's uses are spent only on answers that deliver the content: a HEAD spends none (it gets
 * the route's 402), and a redirect or a 304 gives its use back.
 */

const BASE = `https://${SESSION_HOST}`;

beforeEach(async () => {
  await putTable();
});

function get(path: string, headers: Record<string, string> = {}, method = "GET") {
  return call(new Request(`${BASE}${path}`, { method, headers }));
}

/** Buys a 3-use pass on the `/status/*` session rule; returns its token. */
async function buy(): Promise<string> {
  const path = `/status/200/${unique()}`;
  const challenge = await get(path);
  expect(challenge.status).toBe(402);
  const paid = await get(path, { "PAYMENT-SIGNATURE": paymentFor(challenge).header });
  expect(paid.status).toBe(200);
  expect(paid.headers.get("PAYMENT-SESSION-REMAINING")).toBe("2");
  return paid.headers.get("PAYMENT-SESSION")!;
}

describe("pass uses on answers without content", () => {
  it("should spend no use on a HEAD and answer it with the route's 402 (regression: a HEAD spent a use)", async () => {
    const token = await buy();
    const path = `/status/200/${unique()}`;
    const head = await get(path, { "PAYMENT-SESSION": token }, "HEAD");
    expect(head.status).toBe(402);
    expect(await originSaw(path)).toBe(0);
    const used = await get(`/status/200/${unique()}`, { "PAYMENT-SESSION": token });
    expect(used.status).toBe(200);
    expect(used.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
  });

  it.each(["302", "304"])(
    "should give the use back for a %s and pass it on without a body (regression: redirects spent a use)",
    async (status) => {
      const token = await buy();
      const redirect = await get(`/status/${status}/${unique()}`, { "PAYMENT-SESSION": token });
      expect(redirect.status).toBe(Number(status));
      expect(await redirect.text()).toBe("");
      const used = await get(`/status/200/${unique()}`, { "PAYMENT-SESSION": token });
      expect(used.status).toBe(200);
      expect(used.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
    },
  );
});
