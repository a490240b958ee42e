import { afterAll, beforeAll, expect, it } from "vitest";
import { runModel } from "./run.ts";
import { modelVars, serveWorker, startMoneyParts } from "./stack.ts";
import type { MoneyParts, ServedWorker } from "./stack.ts";

/**
 * The adversarial model test of the paid path, in workerd: random sequences of client actions,
 * facilitator faults and origin behaviours against the bundled paywall (Miniflare), paid with the
 * official clients on anvil with Circle's USDC and settled by the official facilitator; after
 * each sequence the money rules are judged against the chain and the receipts ledger.
 */

let parts: MoneyParts | undefined;
let worker: ServedWorker | undefined;

beforeAll(async () => {
  parts = await startMoneyParts();
  worker = await serveWorker(modelVars(parts));
});

afterAll(async () => {
  await worker?.stop();
  await parts?.stop();
});

it("should keep the money rules under random sequences of payments, copies, faults and origin answers", async () => {
  if (!parts || !worker) throw new Error("the model's systems are not running");
  const figures = await runModel({ ...parts.harness, workerUrl: worker.url }, "workerd", {
    runs: 30,
  });
  expect(figures.sequences).toBeGreaterThan(0);
  expect(figures.report, figures.report).toBeUndefined();
  expect(figures.violated).toBe(0);
});
