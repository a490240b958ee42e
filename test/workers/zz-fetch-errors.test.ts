import { inject, it } from "vitest";

async function probe(url: string, timeoutMs = 1500) {
  try {
    const r = await fetch(url, { method: "POST", body: JSON.stringify({paymentPayload:{payload:{authorization:{from:"0x1",nonce:"0x2"}}},paymentRequirements:{network:"n",scheme:"exact",amount:"1"}}), signal: AbortSignal.timeout(timeoutMs) });
    return `status ${r.status}`;
  } catch (e) {
    const err = e as Error & { cause?: unknown; code?: unknown };
    return `${err.constructor.name} name=${err.name} msg=${JSON.stringify(err.message)} cause=${String(err.cause)} keys=${Object.keys(err).join(",")} retryable=${String((err as unknown as Record<string, unknown>)["retryable"])} remote=${String((err as unknown as Record<string, unknown>)["remote"])}`;
  }
}

it("probe", async () => {
  const base = inject("facilitatorBase");
  console.log("REFUSED:", await probe(`${inject("deadUrl")}/settle`));
  console.log("RESET:", await probe(`${base}/reset/settle`));
  console.log("RESET-EARLY:", await probe(`${base}/reset-early/settle`));
  console.log("TIMEOUT:", await probe(`${base}/slow/settle`));
  console.log("CLOSE:", await probe(`${base}/close/settle`));
  console.log("BADHOST:", await probe(`http://nonexistent.invalid/settle`));
});
