import { inject, expect, it } from "vitest";

/**
 * How workerd's fetch reports a connection that failed, which decides whether a settle may fail
 * over to another facilitator (src/payments/facilitator.ts): only if a refused connection (the
 * request certainly never arrived) can be told from one lost after the request was sent.
 */

/** What a failed fetch rejects with, as far as code can see it. */
async function failure(url: string, timeoutMs = 1500): Promise<string> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ paymentPayload: { payload: {} }, paymentRequirements: {} }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return `answered ${response.status}`;
  } catch (error) {
    const e = error as Error & Record<string, unknown>;
    return JSON.stringify([e.constructor.name, e.name, e.message, e["retryable"], e["remote"]]);
  }
}

it("should report a refused connection exactly as a reset after the request was sent, so a settle is never failed over", async () => {
  const refused = await failure(`${inject("deadUrl")}/settle`);
  const resetAfterSending = await failure(`${inject("facilitatorBase")}/reset/settle`);
  expect(refused).toBe(JSON.stringify(["Error", "Error", "Network connection lost.", true, true]));
  expect(resetAfterSending).toBe(refused);
  // A timeout is told apart, but its request may have arrived too.
  const timedOut = await failure(`${inject("facilitatorBase")}/slow/settle`, 200);
  expect(JSON.parse(timedOut)[1]).toBe("TimeoutError");
});
