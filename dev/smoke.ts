/**
 * Smoke test of the dev stack, no paywall involved: anvil + Circle's USDC + the official
 * facilitator over HTTP, paid by the official V2 client (and the x402 1.x client for V1).
 * Run: `node dev/smoke.ts`. Prints PASS or FAIL, exits non-zero on failure, leaves no process.
 */
import { execFileSync } from "node:child_process";
import { x402Client } from "@x402/core/client";
import type { PaymentPayload, PaymentRequired, PaymentRequirements } from "@x402/core/types";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { privateKeyToAccount } from "viem/accounts";
import { createPaymentHeader } from "x402/client";
import type { PaymentRequirements as PaymentRequirementsV1 } from "x402/types";
import { FACILITATOR_KEY, PAYER, PAY_TO, freePort, startChain } from "./chain.ts";
import { startFacilitator } from "./facilitator.ts";
import { USDC_ADDRESS, balanceOf, deployUsdc } from "./usdc.ts";

const failures: string[] = [];
/** Records a check; a false `ok` makes the run FAIL. */
function check(ok: boolean, what: string, detail: unknown = ""): void {
  console.log(
    `${ok ? "ok  " : "FAIL"} ${what}${detail === "" ? "" : `: ${JSON.stringify(detail)}`}`,
  );
  if (!ok) failures.push(what);
}

/** POSTs `body` as JSON and resolves to the status and the parsed JSON answer. */
async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const ms = (start: number): string => `${(performance.now() - start).toFixed(1)} ms`;

const t0 = performance.now();
const chain = await startChain({ port: await freePort() });
console.log(`anvil ${chain.rpcUrl} (pid ${chain.pid}) up in ${ms(t0)}`);
let stopFacilitator = async (): Promise<void> => {};
try {
  const t1 = performance.now();
  await deployUsdc(chain.rpcUrl);
  console.log(`USDC + Multicall3 deployed and funded in ${ms(t1)}`);
  const fac = await startFacilitator({
    port: 0,
    rpcUrl: chain.rpcUrl,
    privateKey: FACILITATOR_KEY.privateKey,
  });
  stopFacilitator = fac.stop;
  const supported = (await (await fetch(`${fac.url}/supported`)).json()) as {
    kinds: Array<{ x402Version: number; network: string }>;
  };
  const has = (v: number, n: string): boolean =>
    supported.kinds.some((k) => k.x402Version === v && k.network === n);
  check(
    has(2, "eip155:84532") && has(1, "base-sepolia"),
    `GET ${fac.url}/supported lists V2 eip155:84532 and V1 base-sepolia`,
  );
  const bad = await post(`${fac.url}/verify`, "{not json");
  check(
    bad.status === 400 && typeof bad.json.error === "string",
    "malformed /verify body gives 400 {error}",
    bad.json,
  );

  /** Verifies and settles `payload` over HTTP, checks the balances moved by 10000, then replays it. */
  const payCycle = async (
    label: string,
    payload: unknown,
    requirements: unknown,
  ): Promise<void> => {
    const body = {
      x402Version: (payload as { x402Version: number }).x402Version,
      paymentPayload: payload,
      paymentRequirements: requirements,
    };
    const [payerBefore, payToBefore] = [
      await balanceOf(chain.rpcUrl, PAYER.address),
      await balanceOf(chain.rpcUrl, PAY_TO.address),
    ];
    const tv = performance.now();
    const verify = await post(`${fac.url}/verify`, body);
    const verifyTime = ms(tv);
    check(
      verify.status === 200 && verify.json.isValid === true,
      `${label} verify (${verifyTime})`,
      verify.json,
    );
    const ts = performance.now();
    const settle = await post(`${fac.url}/settle`, body);
    const settleTime = ms(ts);
    check(
      settle.status === 200 && settle.json.success === true,
      `${label} settle (${settleTime})`,
      settle.json,
    );
    const payerDelta = payerBefore - (await balanceOf(chain.rpcUrl, PAYER.address));
    const payToDelta = (await balanceOf(chain.rpcUrl, PAY_TO.address)) - payToBefore;
    check(payerDelta === 10000n && payToDelta === 10000n, `${label} PAYER -10000, PAY_TO +10000`, [
      String(payerDelta),
      String(payToDelta),
    ]);
    const replay = await post(`${fac.url}/verify`, body);
    check(
      replay.status === 200 && replay.json.isValid === false,
      `${label} replayed verify is invalid`,
      replay.json.invalidReason,
    );
    const resettle = await post(`${fac.url}/settle`, body);
    check(
      resettle.json.success === false,
      `${label} replayed settle fails`,
      String(resettle.json.errorReason).split("\n")[0],
    );
  };

  // V2: the official client builds the payload from a PaymentRequired, no HTTP resource involved.
  const requirements: PaymentRequirements = {
    scheme: "exact",
    network: "eip155:84532",
    amount: "10000",
    asset: USDC_ADDRESS,
    payTo: PAY_TO.address,
    maxTimeoutSeconds: 60,
    extra: { name: "USDC", version: "2" },
  };
  const paymentRequired: PaymentRequired = {
    x402Version: 2,
    resource: { url: "http://127.0.0.1/smoke", description: "smoke test", mimeType: "text/plain" },
    accepts: [requirements],
  };
  const client = new x402Client().register(
    "eip155:*",
    new ExactEvmScheme(privateKeyToAccount(PAYER.privateKey)),
  );
  const tc = performance.now();
  const payloadV2: PaymentPayload = await client.createPaymentPayload(paymentRequired);
  console.log(`V2 payload signed in ${ms(tc)}`);
  const tp = performance.now();
  await payCycle("V2", payloadV2, requirements);
  console.log(`V2 cycle (verify, settle, balance checks, replays) in ${ms(tp)}`);

  // V1: the x402 1.x client (what x402-fetch 1.x sends in X-PAYMENT).
  const requirementsV1: PaymentRequirementsV1 = {
    scheme: "exact",
    network: "base-sepolia",
    maxAmountRequired: "10000",
    resource: "http://127.0.0.1/smoke-v1",
    description: "smoke test v1",
    mimeType: "text/plain",
    payTo: PAY_TO.address,
    maxTimeoutSeconds: 60,
    asset: USDC_ADDRESS,
    extra: { name: "USDC", version: "2" },
  };
  const header = await createPaymentHeader(
    privateKeyToAccount(PAYER.privateKey),
    1,
    requirementsV1,
  );
  const payloadV1: unknown = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  await payCycle("V1", payloadV1, requirementsV1);

  // Timing: warm V2 pay cycles (sign, then verify and settle over HTTP), each with a fresh nonce.
  const rounds = 5;
  const payerStart = await balanceOf(chain.rpcUrl, PAYER.address);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    const payload = await client.createPaymentPayload(paymentRequired);
    const body = { x402Version: 2, paymentPayload: payload, paymentRequirements: requirements };
    const ok = (await post(`${fac.url}/verify`, body)).json.isValid === true;
    if (!ok || (await post(`${fac.url}/settle`, body)).json.success !== true)
      check(false, `timed cycle ${i}`);
    times.push(performance.now() - start);
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(rounds / 2)] ?? NaN;
  const spent = payerStart - (await balanceOf(chain.rpcUrl, PAYER.address));
  check(
    spent === BigInt(rounds) * 10000n,
    `${rounds} timed V2 pay cycles, median ${median.toFixed(1)} ms`,
    String(spent),
  );
  // Only requests that pass body validation reach the facilitator and are counted.
  const expected = { verify: 4 + rounds, settle: 4 + rounds };
  check(JSON.stringify(fac.stats()) === JSON.stringify(expected), "facilitator stats", fac.stats());
} catch (err) {
  check(false, "unexpected error", err instanceof Error ? err.stack : String(err));
} finally {
  await stopFacilitator();
  await chain.stop();
}

let leftovers = "";
try {
  leftovers = execFileSync("pgrep", ["-g", String(chain.pid)], { encoding: "utf8" }).trim();
} catch {
  // pgrep exits 1 when nothing matches
}
check(leftovers === "", `no process left in anvil's group ${chain.pid}`, leftovers);
console.log(failures.length === 0 ? `PASS (${ms(t0)} total)` : `FAIL: ${failures.join("; ")}`);
process.exitCode = failures.length === 0 ? 0 : 1;
