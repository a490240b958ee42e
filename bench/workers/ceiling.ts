/**
 * Bench target "ceiling": answers every request with the same 402, built once. Nothing can
 * answer a challenge faster in this runtime, so it is the limit for the unpaid path.
 */

/** A PaymentRequired of the usual size (one `exact` offer), encoded once at start-up. */
const PAYMENT_REQUIRED = btoa(
  JSON.stringify({
    x402Version: 2,
    error: "Payment required",
    resource: { url: "http://127.0.0.1/api/hello", description: "Demo JSON API" },
    accepts: [
      {
        scheme: "exact",
        network: "eip155:84532",
        amount: "1000",
        asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        payTo: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        maxTimeoutSeconds: 60,
        extra: { name: "USDC", version: "2" },
      },
    ],
  }),
);

const HEADERS = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "payment-required": PAYMENT_REQUIRED,
};

export default {
  fetch(): Response {
    return new Response("{}", { status: 402, headers: HEADERS });
  },
};
