/**
 * What every bench target shares: anvil with Circle's USDC (the payer funded), the official
 * facilitator behind a timing pass-through, and the bench origin, all on 127.0.0.1 and free
 * ports. `stop()` stops all of it, anvil's process group included.
 */
import { FACILITATOR_KEY, PAYER, freePort, startChain } from "../dev/chain.ts";
import { startFacilitator } from "../dev/facilitator.ts";
import { deployUsdc } from "../dev/usdc.ts";
import { startBenchOrigin, type BenchOrigin } from "./origin.ts";
import { startPassThrough, type PassThrough } from "./passthrough.ts";

/** The running shared stack. */
export interface BenchStack {
  rpcUrl: string;
  /** The pass-through in front of the facilitator: what targets are given as facilitator. */
  facilitator: PassThrough;
  origin: BenchOrigin;
  stop(): Promise<void>;
}

/** Starts the stack; on failure, stops whatever had started and rethrows. */
export async function startBenchStack(): Promise<BenchStack> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const chain = await startChain({ port: await freePort() });
    stops.push(() => chain.stop());
    await deployUsdc(chain.rpcUrl, {
      fund: [{ address: PAYER.address, amount: 1_000_000_000000n }],
    });
    const facilitator = await startFacilitator({
      port: 0,
      rpcUrl: chain.rpcUrl,
      privateKey: FACILITATOR_KEY.privateKey,
    });
    stops.push(() => facilitator.stop());
    const passThrough = await startPassThrough(facilitator.url);
    stops.push(() => passThrough.stop());
    const origin = await startBenchOrigin();
    stops.push(() => origin.stop());
    return { rpcUrl: chain.rpcUrl, facilitator: passThrough, origin, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
