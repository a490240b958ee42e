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
  /** KV namespace bindings (empty, in memory). */
  kv?: string[];
  /** D1 database bindings (empty, in memory). */
  d1?: string[];
  /** Durable Object bindings: name → exported class (SQLite-backed, in memory). */
  durableObjects?: Record<string, string>;
  /** The price table to put under "price-table" in the KV namespace bound as PRICES. */
  prices?: string;
  /** A path requested once after start-up, timed as the first answer. */
  probePath: string;
  /**
   * Wrap the bundle so what it calls on its KV, D1 and Durable Object bindings is counted
   * (served at `COUNTS_PATH`). Only for the counting pass: wrapping costs a little per request.
   */
  count?: boolean;
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

/**
 * The counting entry module: the bundle's own exports (Durable Object classes) plus a default
 * handler that hands the bundle an env whose storage bindings count what is called on them:
 * KV reads and writes, D1 statements (`prepare`, `exec`), Durable Object stub calls, and the
 * time from each call until its promise settled, per binding. The wrapped
 * env is built once per real env object, as the Worker caches its setup per env object.
 */
function countingModule(bundleFile: string, spec: ServeSpec): string {
  const names = {
    kv: spec.kv ?? [],
    d1: spec.d1 ?? [],
    durableObjects: Object.keys(spec.durableObjects ?? {}),
  };
  return `import worker from "./${bundleFile}";
export * from "./${bundleFile}";
const NAMES = ${JSON.stringify(names)};
const counts = { kvReads: 0, kvWrites: 0, d1Statements: 0, doCalls: {}, awaitedMs: {} };
const wrapped = new WeakMap();
// Time from a call until its promise settles, per binding (the clock moves across I/O).
const timed = (binding, result) => {
  if (!result || typeof result.then !== "function") return result;
  const start = performance.now();
  const done = () => {
    counts.awaitedMs[binding] = (counts.awaitedMs[binding] ?? 0) + performance.now() - start;
  };
  result.then(done, done);
  return result;
};
const method = (target, name, onCall) => {
  const value = Reflect.get(target, name);
  if (typeof value !== "function") return value;
  return (...args) => onCall(Reflect.apply(value, target, args));
};
const KV_READS = ["get", "getWithMetadata", "list"];
const KV_WRITES = ["put", "delete"];
const kv = (ns, binding) => new Proxy(ns, { get: (t, p) => method(t, p, (r) => {
  if (KV_READS.includes(p)) counts.kvReads += 1;
  if (KV_WRITES.includes(p)) counts.kvWrites += 1;
  return timed(binding, r);
}) });
const statement = (st, binding) => new Proxy(st, { get: (t, p) => method(t, p, (r) =>
  p === "bind" ? statement(r, binding) : timed(binding, r)) });
const d1 = (db, binding) => new Proxy(db, { get: (t, p) => method(t, p, (r) => {
  if (p === "prepare" || p === "exec") counts.d1Statements += 1;
  return p === "prepare" ? statement(r, binding) : timed(binding, r);
}) });
const stub = (s, binding) => new Proxy(s, { get: (t, p) => {
  if (typeof p === "symbol" || p === "then" || p === "id" || p === "name") return Reflect.get(t, p);
  return method(t, p, (r) => {
    counts.doCalls[binding] = (counts.doCalls[binding] ?? 0) + 1;
    return timed(binding, r);
  });
} });
const namespace = (ns, binding) => new Proxy(ns, { get: (t, p) =>
  method(t, p, (r) => (p === "get" || p === "getByName" ? stub(r, binding) : r)) });
function wrap(env) {
  let out = wrapped.get(env);
  if (!out) {
    out = { ...env };
    for (const name of NAMES.kv) if (env[name]) out[name] = kv(env[name], name);
    for (const name of NAMES.d1) if (env[name]) out[name] = d1(env[name], name);
    for (const name of NAMES.durableObjects) if (env[name]) out[name] = namespace(env[name], name);
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
            contents: countingModule(basename(spec.script), spec),
          },
          { type: "ESModule" as const, path: spec.script },
        ],
      }
    : { modules: true, scriptPath: spec.script }),
  compatibilityDate: spec.compatibilityDate,
  compatibilityFlags: spec.compatibilityFlags,
  bindings: spec.vars,
  kvNamespaces: Object.fromEntries((spec.kv ?? []).map((name) => [name, `bench-${name}`])),
  d1Databases: Object.fromEntries((spec.d1 ?? []).map((name) => [name, `bench-${name}`])),
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
