/**
 * Runs the paywall Worker under `wrangler dev` (workerd, local KV) with its price table seeded,
 * entirely offline: no Cloudflare account, no telemetry, wrangler's files kept in the project.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startProcessGroup, waitUntil } from "./processes.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = `${ROOT}node_modules/.bin/wrangler`;

/** The environment every wrangler run gets: offline switches and Node 22 first on PATH. */
export function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${ROOT}node_modules/.bin:${process.env["PATH"] ?? ""}`,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_HIDE_BANNER: "true",
    XDG_CONFIG_HOME: `${ROOT}.cache/xdg`,
    WRANGLER_LOG_PATH: `${ROOT}.cache/wrangler-logs`,
  };
}

/** A running `wrangler dev`. */
export interface RunningWorker {
  url: string;
  stop(): Promise<void>;
}

/** Where the Worker finds its origin and facilitator, and where it keeps local state. */
export interface WorkerOptions {
  port: number;
  inspectorPort: number;
  originUrl: string;
  facilitatorUrls: string;
  /** Directory for local KV/Durable Object state (`--persist-to`). */
  stateDir: string;
  /** Price table file to seed into local KV before starting. */
  pricesFile: string;
  vars?: Record<string, string>;
  echo?: boolean;
}

/** Writes a price table file into the local KV namespace that `wrangler dev` reads. */
export async function seedPriceTable(stateDir: string, pricesFile: string): Promise<void> {
  mkdirSync(stateDir, { recursive: true });
  const args = ["kv", "key", "put", "price-table", "--path", pricesFile, "--binding", "PRICES"];
  const put = startProcessGroup(WRANGLER, [...args, "--local", "--persist-to", stateDir], {
    env: wranglerEnv(),
    cwd: ROOT,
  });
  const how = await put.exited;
  if (!how.startsWith("exit code 0")) {
    throw new Error(`seeding the price table failed (${how}):\n${put.output()}`);
  }
}

/** Seeds the price table and starts `wrangler dev`; resolves when `/__x402/health` answers. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  await seedPriceTable(options.stateDir, options.pricesFile);
  const vars: Record<string, string> = {
    ORIGIN_URL: options.originUrl,
    FACILITATOR_URLS: options.facilitatorUrls,
    ...options.vars,
  };
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--persist-to",
    options.stateDir,
    "--log-level",
    "warn",
    ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
  const group = startProcessGroup(WRANGLER, args, {
    env: wranglerEnv(),
    cwd: ROOT,
    echo: options.echo ?? false,
  });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitUntil(
      "wrangler dev",
      async () => (await fetch(`${url}/__x402/health`, { signal: AbortSignal.timeout(2000) })).ok,
      group,
      60_000,
    );
  } catch (error) {
    await group.stop();
    throw error;
  }
  return { url, stop: () => group.stop() };
}
