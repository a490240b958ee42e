/**
 * Child process: serves one bundled Worker with Miniflare (one workerd, no inspector) on
 * 127.0.0.1 and a free port, seeds its price table, answers one probe request, then prints one
 * JSON line `{"ready": …}` and runs until SIGTERM. Started in its own process group by
 * bench/targets.ts, so stopping the group also stops workerd.
 *
 *   node bench/serve.ts '<ServeSpec as JSON>'
 */
import { basename, dirname, join } from "node:path";
import { Miniflare, convertV4MiniflareOptions, type V4MiniflareOptions } from "miniflare";
import { COUNTS_PATH } from "./counts.ts";

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
  /**
   * Wrap the bundle so its KV reads and Durable Object calls are counted (served at
   * `COUNTS_PATH`). Only for the counting pass: the wrapping costs a little per request.
   */
  count?: boolean;
}

/**
 * The counting entry module: the bundle's own exports (Durable Object classes) plus a default
 * handler that hands the bundle an env whose PRICES and SESSIONS count what is called on them.
 * The wrapped env is built once per real env object, as the Worker caches its setup per env.
 */
function countingModule(bundleFile: string): string {
  return `import worker from "./${bundleFile}";
export * from "./${bundleFile}";
const counts = { kvReads: 0, doCalls: 0 };
const wrapped = new WeakMap();
const method = (target, name, onCall) => {
  const value = Reflect.get(target, name);
  if (typeof value !== "function") return value;
  return (...args) => onCall(Reflect.apply(value, target, args));
};
const kv = (ns) => new Proxy(ns, { get: (t, p) => method(t, p, (r) => {
  if (p === "get" || p === "getWithMetadata" || p === "list") counts.kvReads += 1;
  return r;
}) });
const stub = (s) => new Proxy(s, { get: (t, p) => {
  if (typeof p === "symbol" || p === "then" || p === "id" || p === "name") return Reflect.get(t, p);
  return method(t, p, (r) => { counts.doCalls += 1; return r; });
} });
const namespace = (ns) => new Proxy(ns, { get: (t, p) =>
  method(t, p, (r) => (p === "get" || p === "getByName" ? stub(r) : r)) });
function wrap(env) {
  let out = wrapped.get(env);
  if (!out) {
    out = { ...env };
    if (env.PRICES) out.PRICES = kv(env.PRICES);
    if (env.SESSIONS) out.SESSIONS = namespace(env.SESSIONS);
    wrapped.set(env, out);
  }
  return out;
}
export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "${COUNTS_PATH}") return Response.json(counts);
    return worker.fetch(request, wrap(env), ctx);
  },
};
`;
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
// Miniflare 5 takes a new options shape; the classic one converts (and is what its docs show).
const options: V4MiniflareOptions = {
  host: "127.0.0.1",
  port: 0,
  ...(spec.count
    ? {
        modulesRoot: dirname(spec.script),
        modules: [
          {
            type: "ESModule" as const,
            path: join(dirname(spec.script), "bench-counting.mjs"),
            contents: countingModule(basename(spec.script)),
          },
          { type: "ESModule" as const, path: spec.script },
        ],
      }
    : { modules: true, scriptPath: spec.script }),
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
const mf = new Miniflare(convertV4MiniflareOptions(options));

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
