/**
 * Route matching against price-table size: compiles tables of 10 … 10,000 rules with the Worker's
 * own src/pricing, then times `normalisePath` + `match` per request in Node (the same code the
 * Worker runs; V8 in both). Requests hit rules spread over the table, plus misses that fall
 * through to the default, which is the worst case for a matcher that scans the rules.
 */
import { registerHooks } from "node:module";

/** The parts of src/pricing this benchmark calls (imported at run time, not type-checked here). */
interface Pricing {
  parsePriceTable(json: unknown): { ok: true; table: unknown } | { ok: false; errors: string[] };
  compileTable(
    table: unknown,
    env: object,
  ): { ok: true; table: Matcher } | { ok: false; errors: string[] };
  normalisePath(path: string): { ok: true; matchPath: string } | { ok: false; reason: string };
}
interface Matcher {
  match(request: { method: string; host: string; path: string }): { rule: string };
}

/** What one table size measured (µs per request unless named otherwise). */
export interface MatchingResult {
  rules: number;
  /** Parsing + compiling the table once (ms), as happens once per table version. */
  compileMs: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** p50 for requests that match no rule (fall through to the default). */
  missP50Us: number;
}

/** src/ imports its siblings without extensions (bundler style): let Node try `.ts`. */
let hooked = false;
function allowExtensionlessImports(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, next) {
      if (/^\.{1,2}\//.test(specifier) && !/\.[cm]?[jt]s$/.test(specifier)) {
        try {
          return next(`${specifier}.ts`, context);
        } catch {
          return next(`${specifier}/index.ts`, context);
        }
      }
      return next(specifier, context);
    },
  });
}

const PAY_TO = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

/** A table of `size` rules mixing every pattern kind, hosts and methods, like a big site's. */
function syntheticTable(size: number): unknown {
  const rules: unknown[] = [];
  for (let i = 0; i < size; i++) {
    const section = `section-${i % 97}`;
    switch (i % 5) {
      case 0:
        rules.push({ path: `/api/v${i % 3}/${section}/item-${i}/:id`, price: "$0.001" });
        break;
      case 1:
        rules.push({ path: `/docs/${section}/page-${i}/*`, price: "$0.01", methods: ["GET"] });
        break;
      case 2:
        rules.push({ path: `/files/${section}/blob-${i}*`, free: true });
        break;
      case 3:
        rules.push({ host: `shop-${i}.example.com`, path: `/products/*`, price: "$0.05" });
        break;
      default:
        rules.push({ path: `/articles/${section}/story-${i}`, price: "$0.02" });
    }
  }
  return {
    version: `bench-${size}`,
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules,
    default: { free: true },
  };
}

/** A path (and host) that matches rule `i` of `syntheticTable`. */
function requestFor(i: number): { host: string; path: string } {
  const section = `section-${i % 97}`;
  switch (i % 5) {
    case 0:
      return { host: "example.com", path: `/api/v${i % 3}/${section}/item-${i}/42` };
    case 1:
      return { host: "example.com", path: `/docs/${section}/page-${i}/intro/part-2` };
    case 2:
      return { host: "example.com", path: `/files/${section}/blob-${i}.tar.gz` };
    case 3:
      return { host: `shop-${i}.example.com`, path: "/products/chair" };
    default:
      return { host: "example.com", path: `/articles/${section}/story-${i}` };
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Times matching for each size; `samples` requests per size (after as many for warm-up). */
export async function benchMatching(
  sizes: number[] = [10, 100, 1000, 10_000],
  samples = 5_000,
): Promise<MatchingResult[]> {
  allowExtensionlessImports();
  const pricing = (await import(
    new URL("../src/pricing/index.ts", import.meta.url).href
  )) as Pricing;
  const results: MatchingResult[] = [];
  for (const size of sizes) {
    const json = syntheticTable(size);
    const t0 = performance.now();
    const parsed = pricing.parsePriceTable(json);
    if (!parsed.ok) throw new Error(`bench: synthetic table rejected: ${parsed.errors[0]}`);
    const compiled = pricing.compileTable(parsed.table, {});
    if (!compiled.ok) throw new Error(`bench: synthetic table: ${compiled.errors[0]}`);
    const compileMs = performance.now() - t0;
    const table = compiled.table;

    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * size;
    const requests = Array.from({ length: 2 * samples }, (_, n) =>
      n % 10 === 9
        ? { host: "example.com", path: `/nothing/here-${n}`, miss: true }
        : { ...requestFor(Math.floor(random())), miss: false },
    );
    const hit = (r: { host: string; path: string }): boolean => {
      const path = pricing.normalisePath(r.path);
      if (!path.ok) throw new Error(`bench: ${r.path}: ${path.reason}`);
      return table.match({ method: "GET", host: r.host, path: path.matchPath }).rule !== "default";
    };
    for (const r of requests.slice(0, samples)) {
      if (hit(r) === r.miss) throw new Error(`bench: ${r.host}${r.path} matched wrongly`);
    }
    const all: number[] = [];
    const misses: number[] = [];
    for (const r of requests.slice(samples)) {
      const start = process.hrtime.bigint();
      hit(r);
      const us = Number(process.hrtime.bigint() - start) / 1000;
      all.push(us);
      if (r.miss) misses.push(us);
    }
    all.sort((a, b) => a - b);
    misses.sort((a, b) => a - b);
    results.push({
      rules: size,
      compileMs,
      p50Us: quantile(all, 0.5),
      p99Us: quantile(all, 0.99),
      meanUs: all.reduce((a, b) => a + b, 0) / all.length,
      missP50Us: quantile(misses, 0.5),
    });
  }
  return results;
}

/**
 * Run as a script (bench/run.ts starts it with `--experimental-transform-types`, which src/
 * needs): `node bench/matching.ts [samples]` prints one JSON line per table size.
 */
if (import.meta.url === `file://${process.argv[1]}`) {
  const samples = Number(process.argv[2] ?? "5000");
  for (const r of await benchMatching(undefined, samples)) console.log(JSON.stringify(r));
}
