import type { TestProject } from "vitest/node";
import { freePort } from "../../dev/chain.ts";
import { startFakeFacilitator, startFakeOrigin } from "../support/fakes.ts";

/** Starts the fake facilitator and origin for the workerd integration tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const facilitator = await startFakeFacilitator();
  const origin = await startFakeOrigin();
  // An origin the Worker is never configured with: whatever reaches it went somewhere it must not.
  const decoy = await startFakeOrigin();
  project.provide("originUrl", origin.url);
  project.provide("facilitatorUrl", `${facilitator.url}/ok`);
  project.provide("facilitatorBase", facilitator.url);
  project.provide("decoyUrl", decoy.url);
  // A port that was free a moment ago and that nothing here listens on.
  project.provide("deadUrl", `http://127.0.0.1:${await freePort()}`);
  // Replays a randomised test's sequence (verify-beside-attacks.test.ts); empty: a fresh one.
  project.provide("verifyBesideSeed", process.env["VERIFY_BESIDE_SEED"] ?? "");
  return async () => {
    await facilitator.stop();
    await origin.stop();
    await decoy.stop();
  };
}
