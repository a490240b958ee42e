import { describe, expect, it } from "vitest";
import { httpFacilitator } from "../../../src/payments/index.ts";
import type { FacilitatorRequest } from "../../../src/payments/index.ts";

const REQUEST: FacilitatorRequest = {
  x402Version: 2,
  paymentPayload: { x402Version: 2, payload: { signature: "0x01" } },
  paymentRequirements: { scheme: "exact", amount: "10000" },
};
const VALID = { isValid: true, payer: "0x3333333333333333333333333333333333333333" };
const SETTLED = { success: true, transaction: "0xabc", network: "eip155:84532" };

type Reply = Response | Error | "wait-for-abort";

interface Call {
  url: string;
  init: RequestInit | undefined;
}

/** A fetch that answers each base URL from a script, recording every call. */
function fakeFetch(replies: Record<string, Reply>): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fake: typeof fetch = async (input, init) => {
    const url = String(input);
    calls.push({ url, init });
    const base = Object.keys(replies).find((b) => url.startsWith(b));
    const reply = base === undefined ? new Error(`unexpected ${url}`) : replies[base];
    if (reply === "wait-for-abort") {
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    }
    if (reply instanceof Error || reply === undefined) throw reply;
    return reply;
  };
  return { fetch: fake, calls };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

describe("httpFacilitator", () => {
  it("should pass the first facilitator's answer through", async () => {
    const { fetch, calls } = fakeFetch({ "https://f1.test": json(VALID) });
    const facilitator = httpFacilitator({ urls: ["https://f1.test"], timeoutMs: 1000, fetch });
    expect(await facilitator.verify(REQUEST)).toEqual({
      type: "answer",
      body: VALID,
      endpoint: "https://f1.test",
    });
    expect(calls.map((c) => c.url)).toEqual(["https://f1.test/verify"]);
  });

  it("should POST the request as JSON", async () => {
    const { fetch, calls } = fakeFetch({ "https://f1.test": json(SETTLED) });
    const facilitator = httpFacilitator({ urls: ["https://f1.test"], timeoutMs: 1000, fetch });
    expect(await facilitator.settle(REQUEST)).toEqual({
      type: "answer",
      body: SETTLED,
      endpoint: "https://f1.test",
    });
    const init = calls[0]?.init;
    expect(calls[0]?.url).toBe("https://f1.test/settle");
    expect(init?.method).toBe("POST");
    expect(new Headers(init?.headers).get("Content-Type")).toBe("application/json");
    expect(JSON.parse(String(init?.body))).toEqual(REQUEST);
    expect(init?.signal).toBeInstanceOf(AbortSignal);
  });

  it("should join base URLs with trailing slashes and paths correctly", async () => {
    const { fetch, calls } = fakeFetch({ "https://f1.test": json(VALID) });
    const urls = ["https://f1.test/x402//"];
    await httpFacilitator({ urls, timeoutMs: 1000, fetch }).verify(REQUEST);
    expect(calls.map((c) => c.url)).toEqual(["https://f1.test/x402/verify"]);
  });

  it("should fail over in order when a facilitator cannot be reached", async () => {
    const { fetch, calls } = fakeFetch({
      "https://f1.test": new TypeError("connection refused"),
      "https://f2.test": json(VALID),
      "https://f3.test": json({ isValid: false }),
    });
    const urls = ["https://f1.test", "https://f2.test", "https://f3.test"];
    expect(await httpFacilitator({ urls, timeoutMs: 1000, fetch }).verify(REQUEST)).toEqual({
      type: "answer",
      body: VALID,
      endpoint: "https://f2.test",
    });
    expect(calls.map((c) => c.url)).toEqual(["https://f1.test/verify", "https://f2.test/verify"]);
  });

  it("should fail over when a facilitator answers 5xx", async () => {
    const { fetch, calls } = fakeFetch({
      "https://f1.test": json({ isValid: true }, 500),
      "https://f2.test": json(VALID),
    });
    const urls = ["https://f1.test", "https://f2.test"];
    expect(await httpFacilitator({ urls, timeoutMs: 1000, fetch }).verify(REQUEST)).toEqual({
      type: "answer",
      body: VALID,
      endpoint: "https://f2.test",
    });
    expect(calls).toHaveLength(2);
  });

  it("should answer 502 when every facilitator answers 5xx", async () => {
    const { fetch } = fakeFetch({
      "https://f1.test": json({}, 500),
      "https://f2.test": new Response("busy", { status: 503 }),
    });
    const urls = ["https://f1.test", "https://f2.test"];
    expect(await httpFacilitator({ urls, timeoutMs: 1000, fetch }).verify(REQUEST)).toEqual({
      type: "unavailable",
      status: 502,
      reason: "facilitator verify returned HTTP 503",
    });
  });

  it.each([
    ["HTML", new Response("<html>oops</html>", { status: 200 })],
    ["JSON without isValid", json({ valid: true })],
    ["a string isValid", json({ isValid: "true" })],
    ["an array", json([VALID])],
    ["a 4xx without a verify answer", json({ error: "bad request" }, 400)],
  ])("should answer 502 for %s", async (_name, reply) => {
    const { fetch } = fakeFetch({ "https://f1.test": reply });
    expect(
      await httpFacilitator({ urls: ["https://f1.test"], timeoutMs: 1000, fetch }).verify(REQUEST),
    ).toEqual({
      type: "unavailable",
      status: 502,
      reason: "facilitator verify returned a malformed answer",
    });
  });

  it("should pass a 4xx that carries a verify answer through", async () => {
    const invalid = { isValid: false, invalidReason: "invalid_exact_evm_signature" };
    const { fetch } = fakeFetch({ "https://f1.test": json(invalid, 400) });
    expect(
      await httpFacilitator({ urls: ["https://f1.test"], timeoutMs: 1000, fetch }).verify(REQUEST),
    ).toEqual({ type: "answer", body: invalid, endpoint: "https://f1.test" });
  });

  it("should treat a successful settlement without a transaction as malformed", async () => {
    const { fetch } = fakeFetch({ "https://f1.test": json({ success: true }) });
    expect(
      await httpFacilitator({ urls: ["https://f1.test"], timeoutMs: 1000, fetch }).settle(REQUEST),
    ).toEqual({
      type: "unavailable",
      status: 502,
      reason: "facilitator settle returned a malformed answer",
    });
  });

  it("should pass a failed settlement through", async () => {
    const failed = { success: false, errorReason: "insufficient_funds" };
    const { fetch } = fakeFetch({ "https://f1.test": json(failed) });
    expect(
      await httpFacilitator({ urls: ["https://f1.test"], timeoutMs: 1000, fetch }).settle(REQUEST),
    ).toEqual({ type: "answer", body: failed, endpoint: "https://f1.test" });
  });

  it("should answer 503 when no facilitator can be reached", async () => {
    const { fetch, calls } = fakeFetch({
      "https://f1.test": new TypeError("fetch failed"),
      "https://f2.test": new TypeError("fetch failed"),
    });
    const urls = ["https://f1.test", "https://f2.test"];
    expect(await httpFacilitator({ urls, timeoutMs: 1000, fetch }).verify(REQUEST)).toEqual({
      type: "unavailable",
      status: 503,
      reason: "facilitator verify could not be reached",
    });
    expect(calls).toHaveLength(2);
  });

  it("should give up on a facilitator after the timeout and answer 503", async () => {
    const { fetch } = fakeFetch({ "https://slow.test": "wait-for-abort" });
    const facilitator = httpFacilitator({ urls: ["https://slow.test"], timeoutMs: 20, fetch });
    expect(await facilitator.verify(REQUEST)).toEqual({
      type: "unavailable",
      status: 503,
      reason: "facilitator verify timed out after 20 ms",
    });
  });

  it("should fail over after a timeout", async () => {
    const { fetch } = fakeFetch({
      "https://slow.test": "wait-for-abort",
      "https://f2.test": json(VALID),
    });
    const urls = ["https://slow.test", "https://f2.test"];
    expect(await httpFacilitator({ urls, timeoutMs: 20, fetch }).verify(REQUEST)).toEqual({
      type: "answer",
      body: VALID,
      endpoint: "https://f2.test",
    });
  });

  it.each<[string, Reply, number, string]>([
    ["refuses the connection", new Error("Network connection lost."), 503, "could not be reached"],
    ["answers 500", json({ error: "boom" }, 500), 502, "returned HTTP 500"],
    ["answers garbage", new Response("<html>"), 502, "returned a malformed answer"],
    ["times out", "wait-for-abort", 503, "timed out after 20 ms"],
  ])(
    "should never fail a settle over to the next facilitator when the first %s (regression: the second found the nonce spent and the payment was answered 402)",
    async (_name, reply, status, why) => {
      const { fetch, calls } = fakeFetch({
        "https://f1.test": reply,
        "https://f2.test": json(SETTLED),
      });
      const urls = ["https://f1.test", "https://f2.test"];
      expect(await httpFacilitator({ urls, timeoutMs: 20, fetch }).settle(REQUEST)).toEqual({
        type: "unavailable",
        status,
        reason: `facilitator settle ${why}`,
      });
      expect(calls.map((c) => c.url)).toEqual(["https://f1.test/settle"]);
    },
  );

  it("should settle at the facilitator whose verify answered, not at the first one that was down (regression: verify failed over, settle went to the dead one)", async () => {
    const { fetch, calls } = fakeFetch({
      "https://f1.test": new Error("Network connection lost."),
      "https://f2.test/verify": json(VALID),
      "https://f2.test/settle": json(SETTLED),
    });
    const facilitator = httpFacilitator({
      urls: ["https://f1.test", "https://f2.test"],
      timeoutMs: 1000,
      fetch,
    });
    const verified = await facilitator.verify(REQUEST);
    expect(verified).toMatchObject({ type: "answer", endpoint: "https://f2.test" });
    const endpoint = verified.type === "answer" ? verified.endpoint : undefined;
    expect(await facilitator.settle(REQUEST, endpoint)).toEqual({
      type: "answer",
      body: SETTLED,
      endpoint: "https://f2.test",
    });
    expect(calls.map((c) => c.url)).toEqual([
      "https://f1.test/verify",
      "https://f2.test/verify",
      "https://f2.test/settle",
    ]);
  });

  it("should never fail a settle sent to the verifying facilitator over to another one", async () => {
    const { fetch, calls } = fakeFetch({
      "https://f1.test": json(SETTLED),
      "https://f2.test": new Error("Network connection lost."),
    });
    const urls = ["https://f1.test", "https://f2.test"];
    const facilitator = httpFacilitator({ urls, timeoutMs: 1000, fetch });
    expect(await facilitator.settle(REQUEST, "https://f2.test")).toMatchObject({
      type: "unavailable",
      status: 503,
    });
    expect(calls.map((c) => c.url)).toEqual(["https://f2.test/settle"]);
  });

  it("should settle a payment that was not verified here (a pending retry) at the first facilitator", async () => {
    const { fetch, calls } = fakeFetch({
      "https://f1.test": json(SETTLED),
      "https://f2.test": json(SETTLED),
    });
    const urls = ["https://f1.test", "https://f2.test"];
    await httpFacilitator({ urls, timeoutMs: 1000, fetch }).settle(REQUEST);
    expect(calls.map((c) => c.url)).toEqual(["https://f1.test/settle"]);
  });

  it("should answer 503 when no facilitator is configured", async () => {
    const { fetch, calls } = fakeFetch({});
    expect(await httpFacilitator({ urls: [], timeoutMs: 1000, fetch }).verify(REQUEST)).toEqual({
      type: "unavailable",
      status: 503,
      reason: "no facilitator is configured",
    });
    expect(calls).toHaveLength(0);
  });
});
