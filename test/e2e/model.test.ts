import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PAY_TO, freePort } from "../../dev/chain.ts";
import { startStack } from "../../dev/stack.ts";
import type { RunningStack } from "../../dev/stack.ts";
import { modelChain } from "../model/chain.ts";
import { startScriptedOrigin } from "../model/origin.ts";
import type { ScriptedOrigin } from "../model/origin.ts";
import { MODEL_PRICES } from "../model/prices.ts";
import { runModel } from "../model/run.ts";
import { FACILITATOR_TIMEOUT_MS, MODEL_ADMIN_TOKEN, modelVars } from "../model/stack.ts";
import { startFaultProxy } from "./fault-proxy.ts";

/**
 * The adversarial model test (test/model) against the real local stack: the paywall under
 * `wrangler dev`, anvil with Circle's USDC, the official facilitator behind two fault proxies,
 * the model's scripted origin, and the official clients paying (`@x402/fetch` V2, `x402-fetch`
 * 1.x V1). A shorter run than the workerd one; the same events and invariants.
 */

const primary = await startFaultProxy();
const secondary = await startFaultProxy();
let origin: ScriptedOrigin | undefined;
let stack: RunningStack | undefined;
const stateDir = mkdtempSync(join(tmpdir(), "x402-model-e2e-"));

beforeAll(async () => {
  origin = await startScriptedOrigin();
  const pricesFile = join(stateDir, "prices.json");
  writeFileSync(pricesFile, JSON.stringify(MODEL_PRICES));
  const chainPort = await freePort();
  const rpcUrl = `http://127.0.0.1:${chainPort}`;
  const facilitatorUrl = `${primary.url},${secondary.url}`;
  const originUrl = origin.url;
  stack = await startStack({
    ports: { chain: chainPort, facilitator: 0, origin: 0, worker: 0, inspector: 0 },
    stateDir,
    pricesFile,
    vars: modelVars({ originUrl, facilitatorUrl, rpcUrl }),
    facilitatorFor: async (url) => {
      for (const proxy of [primary, secondary]) {
        proxy.retarget(url);
        proxy.delayMs = FACILITATOR_TIMEOUT_MS + 1000;
      }
      return facilitatorUrl;
    },
    originFor: async () => originUrl,
  });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([primary.stop(), secondary.stop(), origin?.stop()]);
  rmSync(stateDir, { recursive: true, force: true });
});

it(
  "should keep the money rules under random sequences on the real stack",
  { timeout: 300_000 },
  async () => {
    if (!stack || !origin) throw new Error("the stack is not running");
    const figures = await runModel(
      {
        workerUrl: stack.workerUrl,
        rpcUrl: stack.rpcUrl,
        payTo: PAY_TO.address,
        adminToken: MODEL_ADMIN_TOKEN,
        primary,
        secondary,
        chain: modelChain(stack.rpcUrl),
        origin,
      },
      "real stack",
      { runs: 10, timeLimitS: 60 },
    );
    expect(figures.sequences).toBeGreaterThan(0);
    expect(figures.report, figures.report).toBeUndefined();
    expect(figures.violated).toBe(0);
  },
);
