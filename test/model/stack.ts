import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { bundle } from "../../bench/build.ts";
import { FACILITATOR_KEY, PAY_TO, freePort, startChain } from "../../dev/chain.ts";
import { startFacilitator } from "../../dev/facilitator.ts";
import { deployPermit2 } from "../../dev/permit2.ts";
import { deployUsdc } from "../../dev/usdc.ts";
import { startFaultProxy } from "../e2e/fault-proxy.ts";
import { modelChain } from "./chain.ts";
import { startScriptedOrigin } from "./origin.ts";
import { MODEL_PRICES } from "./prices.ts";
import type { Harness } from "./sequence.ts";

/**
 * The model test's systems: the real money parts (anvil with Circle's USDC and Permit2, the
 * official x402 facilitator behind two fault proxies, one per entry of FACILITATOR_URLS), the
 * scripted origin, and the paywall itself: bundled as `npm run build` bundles it and served by
 * Miniflare (workerd) with in-memory KV, D1 and Durable Objects.
 */

/** How long the Worker waits for a facilitator call (ms); faults hold answers past it. */
export const FACILITATOR_TIMEOUT_MS = 1500;
/** The admin API's token in the model's Workers. */
export const MODEL_ADMIN_TOKEN = "model-admin-token-0123456789";

/** The money parts shared by both harnesses, and how to stop them. */
export interface MoneyParts {
  rpcUrl: string;
  facilitatorUrl: string;
  originUrl: string;
  harness: Omit<Harness, "workerUrl">;
  stop(): Promise<void>;
}

/** Starts anvil + USDC + Permit2, the facilitator behind two fault proxies, and the origin. */
export async function startMoneyParts(): Promise<MoneyParts> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const chain = await startChain({ port: await freePort() });
    stops.push(chain.stop);
    await deployUsdc(chain.rpcUrl, { fund: [] });
    await deployPermit2(chain.rpcUrl);
    const facilitator = await startFacilitator({
      port: 0,
      rpcUrl: chain.rpcUrl,
      privateKey: FACILITATOR_KEY.privateKey,
    });
    stops.push(facilitator.stop);
    const primary = await startFaultProxy();
    const secondary = await startFaultProxy();
    stops.push(primary.stop, secondary.stop);
    for (const proxy of [primary, secondary]) {
      proxy.retarget(facilitator.url);
      proxy.delayMs = FACILITATOR_TIMEOUT_MS + 1000;
    }
    const origin = await startScriptedOrigin();
    stops.push(origin.stop);
    return {
      rpcUrl: chain.rpcUrl,
      facilitatorUrl: `${primary.url},${secondary.url}`,
      originUrl: origin.url,
      harness: {
        rpcUrl: chain.rpcUrl,
        payTo: PAY_TO.address,
        adminToken: MODEL_ADMIN_TOKEN,
        primary,
        secondary,
        chain: modelChain(chain.rpcUrl),
        origin,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The Worker's variables for the model (both harnesses). */
export function modelVars(
  parts: Pick<MoneyParts, "originUrl" | "facilitatorUrl" | "rpcUrl">,
): Record<string, string> {
  return {
    ORIGIN_URL: parts.originUrl,
    FACILITATOR_URLS: parts.facilitatorUrl,
    PAY_TO: PAY_TO.address,
    NETWORK: "eip155:84532",
    PRICE_TABLE_TTL_SECONDS: "0",
    FACILITATOR_TIMEOUT_MS: String(FACILITATOR_TIMEOUT_MS),
    SESSION_SECRET: "model-session-secret-0123456789abcdef",
    ADMIN_TOKEN: MODEL_ADMIN_TOKEN,
    // Pending settlements are proved from the chain (the local anvil).
    CHAIN_RPC_URLS: JSON.stringify({ "eip155:84532": parts.rpcUrl }),
  };
}

/** A paywall bundle served by Miniflare: its URL and `stop`. */
export interface ServedWorker {
  url: string;
  stop(): Promise<void>;
}

/** Bundles the paywall (wrangler, offline) and serves it with Miniflare, price table seeded. */
export async function serveWorker(vars: Record<string, string>): Promise<ServedWorker> {
  const dir = mkdtempSync(join(tmpdir(), "x402-model-"));
  const built = await bundle({ id: "paywall" }, dir);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      modules: true,
      modulesRoot: dirname(built.script),
      scriptPath: built.script,
      compatibilityDate: built.compatibilityDate,
      compatibilityFlags: built.compatibilityFlags,
      bindings: vars,
      kvNamespaces: { PRICES: "model-prices" },
      d1Databases: { LEDGER: "model-ledger" },
      durableObjects: {
        SESSIONS: { className: "PayerSessions", useSQLite: true },
        CRAWL_CREDIT: { className: "CrawlerCredit", useSQLite: true },
        PAYMENTS: { className: "PaymentLocks", useSQLite: true },
      },
    }),
  );
  try {
    const url = await mf.ready;
    const kv = await mf.getKVNamespace("PRICES");
    await kv.put("price-table", JSON.stringify(MODEL_PRICES));
    return {
      url: url.origin,
      stop: async () => {
        await mf.dispose();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await mf.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
