/**
 * Child process: serves one bundled Worker with Miniflare (one workerd, no inspector) on
 * 127.0.0.1 and a free port, seeds its price table, answers one probe request, then prints one
 * JSON line `{"ready": …}` and runs until SIGTERM. Started in its own process group by
 * bench/targets.ts, so stopping the group also stops workerd.
 *
 *   node bench/serve.ts '<ServeSpec as JSON>'
 */
import { Miniflare, type MiniflareOptions } from "miniflare";

/** What to serve and how; see bench/targets.ts. */
export interface ServeSpec {
  /** The bundle (ES module, from `wrangler deploy --dry-run --outdir`). */
  script: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Plain-text bindings (the Worker's variables). */
  vars: Record<string, string>;
  /** The price table to put under "price-table" in a KV namespace bound as PRICES. */
  prices?: string;
  /** Durable Object bindings: name → exported class (SQLite-backed). */
  durableObjects?: Record<string, string>;
  /** A path requested once after start-up, timed as the first answer. */
  probePath: string;
}

/** The line printed once the Worker answers. */
export interface ServeReady {
  url: string;
  /** From `new Miniflare` until workerd listens (ms). */
  readyMs: number;
  /** From listening until the first answer to `probePath` (ms). */
  firstAnswerMs: number;
  probeStatus: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as ServeSpec;
const started = performance.now();
const options: MiniflareOptions = {
  host: "127.0.0.1",
  port: 0,
  modules: true,
  scriptPath: spec.script,
  compatibilityDate: spec.compatibilityDate,
  compatibilityFlags: spec.compatibilityFlags,
  bindings: spec.vars,
  ...(spec.prices !== undefined ? { kvNamespaces: { PRICES: "bench-prices" } } : {}),
  ...(spec.durableObjects
    ? {
        durableObjects: Object.fromEntries(
          Object.entries(spec.durableObjects).map(([name, className]) => [
            name,
            { className, useSQLite: true },
          ]),
        ),
      }
    : {}),
};
const mf = new Miniflare(options);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void mf.dispose().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

try {
  const url = await mf.ready;
  const readyMs = performance.now() - started;
  if (spec.prices !== undefined) {
    const kv = await mf.getKVNamespace("PRICES");
    await kv.put("price-table", spec.prices);
  }
  const probeStart = performance.now();
  const probe = await fetch(new URL(spec.probePath, url));
  await probe.arrayBuffer();
  const ready: ServeReady = {
    url: url.origin,
    readyMs,
    firstAnswerMs: performance.now() - probeStart,
    probeStatus: probe.status,
  };
  console.log(JSON.stringify({ ready }));
} catch (error) {
  console.error(
    `serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  await mf.dispose().catch(() => {});
  process.exit(1);
}
