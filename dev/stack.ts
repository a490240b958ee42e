/**
 * The whole local stack in one call: anvil with Circle's USDC, the official x402 facilitator,
 * the demo origin and the paywall under `wrangler dev`. Used by `npm start` (fixed ports, for
 * people) and by the end-to-end tests (free ports, so both can run at once).
 */
import { fileURLToPath } from "node:url";
import { FACILITATOR_KEY, PAY_TO, PAYER, freePort, startChain } from "./chain.ts";
import { startFacilitator } from "./facilitator.ts";
import { startOrigin } from "./origin.ts";
import { approvePermit2, deployPermit2 } from "./permit2.ts";
import { BASE_USDC, deployUsdc } from "./usdc.ts";
import { startWorker } from "./worker.ts";

/** Ports of the stack's servers; 0 means "any free port". */
export interface StackPorts {
  chain: number;
  facilitator: number;
  origin: number;
  worker: number;
  inspector: number;
}

/** The ports `npm start` uses. */
export const FIXED_PORTS: StackPorts = {
  chain: 8545,
  facilitator: 4022,
  origin: 9000,
  worker: 8787,
  inspector: 9229,
};

/** Where everything runs, and how to stop it all. */
export interface RunningStack {
  rpcUrl: string;
  facilitatorUrl: string;
  originUrl: string;
  workerUrl: string;
  payer: string;
  payTo: string;
  /** How many requests the demo origin served for exactly this path. */
  originHits(path: string): number;
  /** The second chain's JSON-RPC URL (chain 8453), when `secondChain` was asked for. */
  secondRpcUrl?: string;
  stop(): Promise<void>;
}

/** The second local chain's id: Base's, so its default USDC applies to clients unchanged. */
export const SECOND_CHAIN_ID = 8453;

const PRICES_FILE = fileURLToPath(new URL("./prices.json", import.meta.url));

/**
 * Secrets of the local stack only (a deployment sets its own with `wrangler secret put`): the key
 * of SIWx nonces and the admin API's bearer token.
 */
export const DEV_SECRETS = {
  SESSION_SECRET: "local-dev-session-secret-not-for-production",
  ADMIN_TOKEN: "local-dev-admin-token",
} as const;

/** Starts the stack; `log` receives one line per step. Stops what it started if a step fails. */
export async function startStack(options: {
  ports: StackPorts;
  stateDir: string;
  pricesFile?: string;
  vars?: Record<string, string>;
  log?: (line: string) => void;
  /** The facilitator URL(s) the Worker is given, from the real one's (e.g. a fault proxy). */
  facilitatorFor?: (url: string) => Promise<string>;
  /** The origin URL the Worker is given, from the demo origin's (e.g. a fault proxy). */
  originFor?: (url: string) => Promise<string>;
  /** Also run a second chain (id 8453, Base's USDC) that the facilitator settles on. */
  secondChain?: boolean;
}): Promise<RunningStack> {
  const log = options.log ?? (() => {});
  const port = async (p: number) => (p === 0 ? freePort() : p);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    log("starting anvil (chain id 84532) …");
    const chain = await startChain({ port: await port(options.ports.chain) });
    stops.push(chain.stop);
    log("deploying Circle's USDC (FiatTokenV2_2) and funding the payer …");
    await deployUsdc(chain.rpcUrl);
    log("placing Permit2 and the x402 upto proxy; the payer approves Permit2 for USDC …");
    await deployPermit2(chain.rpcUrl);
    await approvePermit2(chain.rpcUrl, PAYER.privateKey);
    let secondRpcUrl: string | undefined;
    if (options.secondChain) {
      log("starting a second anvil (chain id 8453) with Base's USDC …");
      const second = await startChain({ port: await freePort(), chainId: SECOND_CHAIN_ID });
      stops.push(second.stop);
      await deployUsdc(second.rpcUrl, { token: BASE_USDC, chainId: SECOND_CHAIN_ID });
      await deployPermit2(second.rpcUrl);
      await approvePermit2(second.rpcUrl, PAYER.privateKey, BASE_USDC.address);
      secondRpcUrl = second.rpcUrl;
    }
    log("starting the facilitator …");
    const facilitator = await startFacilitator({
      port: options.ports.facilitator,
      rpcUrl: chain.rpcUrl,
      privateKey: FACILITATOR_KEY.privateKey,
      ...(secondRpcUrl && { moreChains: [{ rpcUrl: secondRpcUrl, chainId: SECOND_CHAIN_ID }] }),
    });
    stops.push(facilitator.stop);
    log("starting the demo origin …");
    const origin = await startOrigin({ port: options.ports.origin });
    stops.push(origin.stop);
    log("starting the paywall under wrangler dev …");
    const worker = await startWorker({
      port: await port(options.ports.worker),
      inspectorPort: await port(options.ports.inspector),
      originUrl: options.originFor ? await options.originFor(origin.url) : origin.url,
      facilitatorUrls: options.facilitatorFor
        ? await options.facilitatorFor(facilitator.url)
        : facilitator.url,
      stateDir: options.stateDir,
      pricesFile: options.pricesFile ?? PRICES_FILE,
      vars: {
        PAY_TO: PAY_TO.address,
        NETWORK: "eip155:84532",
        // Crawlers of the local stack serve their key directories over plain HTTP on loopback.
        WEB_BOT_AUTH_HTTP_LOOPBACK: "true",
        // Pending payments are resolved by reading the local chains (src/chain).
        CHAIN_RPC_URLS: JSON.stringify({
          "eip155:84532": chain.rpcUrl,
          ...(secondRpcUrl && { [`eip155:${SECOND_CHAIN_ID}`]: secondRpcUrl }),
        }),
        ...DEV_SECRETS,
        ...options.vars,
      },
    });
    stops.push(worker.stop);
    return {
      rpcUrl: chain.rpcUrl,
      facilitatorUrl: facilitator.url,
      originUrl: origin.url,
      workerUrl: worker.url,
      payer: PAYER.address,
      payTo: PAY_TO.address,
      originHits: origin.hits,
      ...(secondRpcUrl && { secondRpcUrl }),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
