/**
 * Bundles every bench target exactly as `npm run build` bundles the paywall:
 * `wrangler deploy --dry-run --outdir <dir>` (offline), and measures each bundle (raw and gzip).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { startProcessGroup } from "../dev/processes.ts";
import { wranglerEnv } from "../dev/worker.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

/** How to bundle one target: a bench Worker entry, or the paywall with the project's wrangler.toml. */
export interface BuildSpec {
  id: string;
  /** Entry file relative to the project root; undefined = the paywall (wrangler.toml). */
  entry?: string;
  /**
   * For the paywall: the checkout whose wrangler.toml and src/ are bundled (default: this one).
   * It must sit under the project root, so packages resolve from the project's node_modules.
   */
  root?: string;
  /** Written at run time instead of bundled (see `constantTwin` in bench/targets.ts). */
  generated?: boolean;
  compatibilityFlags?: string[];
}

/** A bundled target. */
export interface Bundle {
  id: string;
  /** Absolute path of the bundled ES module. */
  script: string;
  rawBytes: number;
  gzipBytes: number;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** The names the bundle exports besides `default` (e.g. Durable Object classes). */
  exports: string[];
  /** Raw bytes in the bundle by npm package or src/ folder, largest first (esbuild metafile). */
  composition: Array<{ module: string; bytes: number }>;
}

/**
 * The paywall's compatibility date and flags, read from the wrangler.toml in `root` (all targets
 * share this checkout's date).
 */
export function projectCompatibility(root = ROOT): { date: string; flags: string[] } {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error("bench: wrangler.toml has no compatibility_date");
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  return { date, flags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "") };
}

/**
 * Runs `wrangler deploy --dry-run --outdir outDir` with `args` in `cwd`; rejects with its output
 * on failure.
 */
async function wranglerBundle(outDir: string, args: string[], cwd = ROOT): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  const metafile = join(outDir, "..", "meta.json");
  const command = ["deploy", "--dry-run", "--outdir", outDir, "--metafile", metafile, ...args];
  const run = startProcessGroup(WRANGLER, command, {
    env: { ...wranglerEnv(), WRANGLER_LOG: "warn" },
    cwd,
  });
  const how = await run.exited;
  if (!how.startsWith("exit code 0")) {
    throw new Error(`bench: bundling into ${outDir} failed (${how}):\n${run.output()}`);
  }
}

/** Bundles `spec` under `buildDir/<id>` and measures it. */
export async function bundle(spec: BuildSpec, buildDir: string): Promise<Bundle> {
  const compat = projectCompatibility(spec.root);
  const dir = resolve(buildDir, spec.id);
  const outDir = join(dir, "dist");
  mkdirSync(dir, { recursive: true });
  let flags = compat.flags;
  if (spec.entry === undefined) {
    await wranglerBundle(outDir, [], spec.root);
  } else {
    flags = spec.compatibilityFlags ?? [];
    const config = join(dir, "wrangler.json");
    writeFileSync(
      config,
      JSON.stringify({
        name: `bench-${spec.id}`,
        main: join(ROOT, spec.entry),
        compatibility_date: compat.date,
        compatibility_flags: flags,
      }),
    );
    await wranglerBundle(outDir, ["--config", config]);
  }
  const name = readdirSync(outDir).find((f) => f.endsWith(".js"));
  if (!name) throw new Error(`bench: no bundle in ${outDir}`);
  const script = join(outDir, name);
  const code = readFileSync(script);
  // From esbuild's metafile: a minified bundle's `export {…}` need not start a line.
  const exported = outputExports(join(dir, "meta.json")).filter((name) => name !== "default");
  return {
    id: spec.id,
    composition: composition(join(dir, "meta.json")),
    script,
    rawBytes: code.length,
    gzipBytes: gzipSync(code).length,
    compatibilityDate: compat.date,
    compatibilityFlags: flags,
    exports: exported,
  };
}

interface Metafile {
  outputs: Record<
    string,
    { entryPoint?: string; exports?: string[]; inputs: Record<string, { bytesInOutput: number }> }
  >;
}

/** The names the entry output exports (esbuild's metafile). */
function outputExports(metafile: string): string[] {
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as Metafile;
  return Object.values(meta.outputs).find((o) => o.entryPoint !== undefined)?.exports ?? [];
}

/** Bytes in the output by npm package (`@scope/name`) or project folder (`src/pricing`). */
function composition(metafile: string): Bundle["composition"] {
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as Metafile;
  const output = Object.values(meta.outputs).find((o) => o.entryPoint !== undefined);
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const inPackage = input.split("node_modules/").pop() ?? input;
    const parts = inPackage.split("/");
    const module = input.includes("node_modules/")
      ? parts.slice(0, inPackage.startsWith("@") ? 2 : 1).join("/")
      : parts.slice(0, parts[0] === "src" || parts[0] === "bench" ? 2 : 1).join("/");
    bytes.set(module, (bytes.get(module) ?? 0) + bytesInOutput);
  }
  return [...bytes]
    .map(([module, n]) => ({ module, bytes: n }))
    .filter((m) => m.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}
