/**
 * The Workers compared side by side, and serving them: each target's bundle runs under Miniflare
 * in its own child process group (bench/serve.ts), one workerd each, on a free loopback port.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { PAY_TO } from "../dev/chain.ts";
import { startProcessGroup, waitUntil, type ProcessGroup } from "../dev/processes.ts";
import type { BuildSpec, Bundle } from "./build.ts";
import type { ServeReady, ServeSpec } from "./serve.ts";
import { readWranglerBindings, type WranglerBindings } from "./wrangler-config.ts";

/** The targets, in the order every round visits them. */
export const TARGET_IDS = [
  "baseline",
  "ceiling",
  "peer",
  "peer-siwx",
  "paywall",
  "paywall-bytes",
] as const;
/** The targets every run has. */
export type BaseTargetId = (typeof TARGET_IDS)[number];
/** Every target, with the paywall built from another commit (`--against <ref>`). */
export type TargetId = BaseTargetId | "paywall-against";

/** Where a target finds the origin and the facilitator. */
export interface Upstreams {
  originUrl: string;
  facilitatorUrl: string;
}

/** A target: how to bundle it and which bindings it gets. */
export interface TargetDef {
  id: TargetId;
  label: string;
  build: BuildSpec;
  vars(upstreams: Upstreams, bundle: Bundle): Record<string, string>;
  /**
   * A paywall: the storage its wrangler.toml declares; it reads the price table from KV
   * (bench/prices.json is seeded).
   */
  storage?: WranglerBindings;
}

const NETWORK = "eip155:84532";
/** Sessions' HMAC key for the paywall under test (a fixed bench value, never a real secret). */
const BENCH_SESSION_SECRET = "bench-session-secret-0123456789abcdef";
/** The bench's price table: dev/prices.json's routes, with a session sold on /api/*. */
const PRICES = readFileSync(new URL("./prices.json", import.meta.url), "utf8");
/** The paywall's variables and bindings from wrangler.toml. */
export const PROJECT_BINDINGS = readWranglerBindings(
  fileURLToPath(new URL("../wrangler.toml", import.meta.url)),
);

/** The targets every run has; see bench/README.md. */
export const TARGETS: Record<BaseTargetId, TargetDef> = {
  baseline: {
    id: "baseline",
    label: "baseline (plain Hono proxy)",
    build: { id: "baseline", entry: "bench/workers/baseline.ts" },
    vars: (u) => ({ ORIGIN_URL: u.originUrl }),
  },
  ceiling: {
    id: "ceiling",
    label: "ceiling (constant 402)",
    build: { id: "ceiling", entry: "bench/workers/ceiling.ts" },
    vars: () => ({}),
  },
  peer: {
    id: "peer",
    label: "peer (@x402/hono)",
    build: { id: "peer", entry: "bench/workers/peer.ts", compatibilityFlags: ["nodejs_compat"] },
    vars: (u) => peerVars(u),
  },
  "peer-siwx": {
    id: "peer-siwx",
    label: "peer + SIWx",
    build: {
      id: "peer-siwx",
      entry: "bench/workers/peer-siwx.ts",
      compatibilityFlags: ["nodejs_compat"],
    },
    vars: (u) => peerVars(u),
  },
  "paywall-bytes": {
    id: "paywall-bytes",
    label: "constant 402 with the paywall's bytes",
    build: { id: "paywall-bytes", generated: true },
    vars: () => ({}),
  },
  paywall: paywallTarget("paywall", "this paywall", { id: "paywall" }, PROJECT_BINDINGS),
};

/**
 * The paywall built from the checkout `root` of commit `ref`, served with the variables and
 * storage its own wrangler.toml declares (`bindings`).
 */
export function againstTarget(ref: string, root: string, bindings: WranglerBindings): TargetDef {
  return paywallTarget(
    "paywall-against",
    `this paywall at ${ref}`,
    { id: "paywall-against", root },
    bindings,
  );
}

/** A paywall target: `bindings`' variables, then the bench's upstreams and fixed settings. */
function paywallTarget(
  id: TargetId,
  label: string,
  build: BuildSpec,
  bindings: WranglerBindings,
): TargetDef {
  return {
    id,
    label,
    build,
    storage: bindings,
    vars: (u) => ({
      ...bindings.vars,
      ORIGIN_URL: u.originUrl,
      FACILITATOR_URLS: u.facilitatorUrl,
      PAY_TO: PAY_TO.address,
      NETWORK,
      PRICE_TABLE_TTL_SECONDS: "10",
      SESSION_SECRET: BENCH_SESSION_SECRET,
      // The bench crawler's key directory is served over plain HTTP on loopback.
      WEB_BOT_AUTH_HTTP_LOOPBACK: "true",
    }),
  };
}

function peerVars(u: Upstreams): Record<string, string> {
  return {
    ORIGIN_URL: u.originUrl,
    FACILITATOR_URL: u.facilitatorUrl,
    PAY_TO: PAY_TO.address,
    NETWORK,
  };
}

/**
 * A paywall's storage as its wrangler.toml declares it (all in memory, fresh per run): every KV
 * namespace and D1 database, and each Durable Object binding whose class the bundle exports.
 */
function projectStorage(
  bindings: WranglerBindings,
  bundle: Bundle,
): Pick<ServeSpec, "kv" | "d1" | "durableObjects"> {
  const durableObjects = Object.fromEntries(
    Object.entries(bindings.durableObjects).filter(([, cls]) => bundle.exports.includes(cls)),
  );
  return { kv: bindings.kv, d1: bindings.d1, durableObjects };
}

/** A target being served. */
export interface RunningTarget extends ServeReady {
  id: TargetId;
  /** Process group of its Miniflare (node + workerd), for CPU accounting. */
  pid: number;
  /** The last few kB of what it printed (workerd logs), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Serves `bundle` as target `def` with `upstreams`; resolves once it has answered `probePath`.
 * With `count`, its KV reads and Durable Object calls are counted (see bench/counts.ts).
 */
export async function serveTarget(
  def: TargetDef,
  bundle: Bundle,
  upstreams: Upstreams,
  probePath: string,
  count = false,
): Promise<RunningTarget> {
  const spec: ServeSpec = {
    count,
    script: bundle.script,
    compatibilityDate: bundle.compatibilityDate,
    compatibilityFlags: bundle.compatibilityFlags,
    vars: def.vars(upstreams, bundle),
    probePath,
    ...(def.storage ? { prices: PRICES, ...projectStorage(def.storage, bundle) } : {}),
  };
  const serve = fileURLToPath(new URL("./serve.ts", import.meta.url));
  const group: ProcessGroup = startProcessGroup(process.execPath, [serve, JSON.stringify(spec)]);
  let ready: ServeReady | undefined;
  try {
    await waitUntil(
      `bench target ${def.id}`,
      async () => (ready = readyLine(group.output())) !== undefined,
      group,
      60_000,
    );
  } catch (error) {
    await group.stop();
    throw error;
  }
  if (!ready) throw new Error(`bench target ${def.id}: no ready line`);
  return {
    ...ready,
    id: def.id,
    pid: group.pid,
    output: () => group.output(),
    stop: () => group.stop(),
  };
}

function readyLine(output: string): ServeReady | undefined {
  for (const line of output.split("\n")) {
    if (!line.startsWith('{"ready"')) continue;
    try {
      return (JSON.parse(line) as { ready: ServeReady }).ready;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Writes the "paywall-bytes" target: a Worker answering every request with `captured`, a 402 the
 * paywall sent (same status, headers and body), built once. Against it, the paywall's 402 shows
 * what computing the challenge costs apart from sending its bytes.
 */
export function constantTwin(
  captured: { status: number; headers: Record<string, string>; body: string },
  buildDir: string,
  like: Bundle,
): Bundle {
  const dir = join(buildDir, "paywall-bytes");
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "worker.js");
  const code =
    `const HEADERS = ${JSON.stringify(captured.headers)};\n` +
    `const BODY = ${JSON.stringify(captured.body)};\n` +
    `export default { fetch() { return new Response(BODY, { status: ${captured.status}, headers: HEADERS }); } };\n`;
  writeFileSync(script, code);
  return {
    id: "paywall-bytes",
    script,
    rawBytes: code.length,
    gzipBytes: gzipSync(code).length,
    compatibilityDate: like.compatibilityDate,
    compatibilityFlags: [],
    exports: [],
    composition: [],
  };
}
