import { createServer } from "node:net";
import type { TestProject } from "vitest/node";
import { startFakeFacilitator, startFakeOrigin } from "../support/fakes.ts";

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const port = typeof address === "object" && address ? address.port : 9;
  return `http://127.0.0.1:${port}`;
}

/** Starts the fake facilitator and origin for the workerd integration tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const facilitator = await startFakeFacilitator();
  const origin = await startFakeOrigin();
  project.provide("originUrl", origin.url);
  project.provide("facilitatorUrl", `${facilitator.url}/ok`);
  project.provide("facilitatorBase", facilitator.url);
  project.provide("deadUrl", await closedPortUrl());
  return async () => {
    await facilitator.stop();
    await origin.stop();
  };
}
