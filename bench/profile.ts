/**
 * `node bench/profile.ts [seconds]`: CPU profiles of the paywall's workerd isolate under load, one
 * per scenario (free route, 402, token, time-limited token, paid request), taken through the
 * inspector (Chrome DevTools Protocol `Profiler.start/stop`) while autocannon drives the route.
 * Prints each scenario's heaviest functions (self time and total time) by bundle source position
 * and writes the `.cpuprofile` files to bench/out/profiles/ (open them in Chrome DevTools).
 * The inspector slows workerd down: read shares within a profile, not absolute rates.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions, type V4MiniflareOptions } from "miniflare";
import { PAY_TO, freePort } from "../dev/chain.ts";
import { bundle } from "./build.ts";
import { LoadGenerator } from "./load.ts";
import { paidRequest } from "./measure.ts";
import { startBenchStack } from "./stack.ts";
import { readWranglerBindings } from "./wrangler-config.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECONDS = Number(process.argv[2] ?? "4");
const OUT = `${ROOT}bench/out/profiles`;
const PROJECT = readWranglerBindings(`${ROOT}wrangler.toml`);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** A minimal CDP client over the inspector's WebSocket. */
class Inspector {
  #next = 1;
  #pending = new Map<number, (value: unknown) => void>();
  readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.#pending.get(message.id)?.(message.result);
    });
  }
  static async connect(port: number, name: string): Promise<Inspector> {
    const list = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
      title: string;
      webSocketDebuggerUrl: string;
    }>;
    const target = list.find((t) => t.title.includes(name)) ?? list[0];
    if (!target) throw new Error("profile: no inspector target");
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", reject);
    });
    return new Inspector(ws);
  }
  send<T>(method: string, params: object = {}): Promise<T> {
    const id = this.#next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve) => this.#pending.set(id, resolve as (v: unknown) => void));
  }
  close(): void {
    this.ws.close();
  }
}

/** Source line of a bundle position, for reading the summary. */
function lineOf(lines: string[], line: number): string {
  return (lines[line] ?? "").trim().slice(0, 70);
}

function summarise(profile: Profile, source: string[], requests: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const key = (n: Node): string =>
    `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url ? `@${n.callFrame.lineNumber + 1}` : ""}`;
  const selfBy = new Map<string, number>();
  const totalBy = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    total += us;
    const node = byId.get(id);
    if (!node) continue;
    selfBy.set(key(node), (selfBy.get(key(node)) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = key(byId.get(at) as Node);
      if (seen.has(k)) continue;
      seen.add(k);
      totalBy.set(k, (totalBy.get(k) ?? 0) + us);
    }
  }
  const idle = selfBy.get("(idle) ") ?? 0;
  const busy = total - idle;
  const rows = (m: Map<string, number>, n: number): string =>
    [...m]
      .filter(([k]) => k !== "(idle) " && k !== "(root) ")
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => {
        const at = /@(\d+)/.exec(k)?.[1];
        const where = at ? `  ${lineOf(source, Number(at) - 1)}` : "";
        return `  ${(us / requests).toFixed(1).padStart(7)} µs/req ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${k}${where}`;
      })
      .join("\n");
  return `busy ${(busy / requests).toFixed(0)} µs/req (${requests} requests)\nself:\n${rows(selfBy, 25)}\ntotal:\n${rows(totalBy, 45)}`;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const built = await bundle({ id: "paywall" }, `${ROOT}bench/out/build`);
  const source = readFileSync(built.script, "utf8").split("\n");
  const stack = await startBenchStack();
  const load = new LoadGenerator();
  const inspectorPort = await freePort();
  const options: V4MiniflareOptions = {
    host: "127.0.0.1",
    port: 0,
    inspectorPort,
    modules: true,
    scriptPath: built.script,
    compatibilityDate: built.compatibilityDate,
    compatibilityFlags: built.compatibilityFlags,
    bindings: {
      ...PROJECT.vars,
      ORIGIN_URL: stack.origin.url,
      FACILITATOR_URLS: stack.facilitator.url,
      PAY_TO: PAY_TO.address,
      NETWORK: "eip155:84532",
      PRICE_TABLE_TTL_SECONDS: "10",
      SESSION_SECRET: "bench-session-secret-0123456789abcdef",
    },
    kvNamespaces: Object.fromEntries(PROJECT.kv.map((n) => [n, `p-${n}`])),
    d1Databases: Object.fromEntries(PROJECT.d1.map((n) => [n, `p-${n}`])),
    durableObjects: Object.fromEntries(
      Object.entries(PROJECT.durableObjects)
        .filter(([, cls]) => built.exports.includes(cls))
        .map(([name, className]) => [name, { className, useSQLite: true }]),
    ),
  };
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  try {
    const url = (await mf.ready).origin;
    await (
      await mf.getKVNamespace("PRICES")
    ).put("price-table", readFileSync(`${ROOT}bench/prices.json`, "utf8"));
    const buy = async (path: string): Promise<string> => {
      const paid = await paidRequest(`${url}${path}`, stack.facilitator, stack.origin);
      return paid.response.headers.get("PAYMENT-SESSION") ?? "";
    };
    const token = await buy("/api/hello");
    const ttlToken = await buy("/feeds/hello");
    const inspector = await Inspector.connect(inspectorPort, "");
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 50 });
    const scenarios: Array<[string, string, Record<string, string>]> = [
      ["free", "/api/free/hello", {}],
      ["402", "/articles/hello-x402", {}],
      ["402-session", "/api/hello", {}],
      ["token", "/api/hello", { "payment-session": token }],
      ["ttl-token", "/feeds/hello", { "payment-session": ttlToken }],
    ];
    const only = process.argv[3]?.split(",");
    for (const [name, path, headers] of scenarios) {
      if (only && !only.includes(name)) continue;
      await load.run({ url: `${url}${path}`, connections: 10, durationS: 1, headers });
      await inspector.send("Profiler.start");
      const result = await load.run({
        url: `${url}${path}`,
        connections: 10,
        durationS: SECONDS,
        headers,
      });
      const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
      writeFileSync(`${OUT}/${name}.cpuprofile`, JSON.stringify(profile));
      console.log(
        `\n== ${name} ${path}: ${result.rps.toFixed(0)} req/s, statuses ${JSON.stringify(result.statuses)}`,
      );
      console.log(summarise(profile, source, result.answered));
    }
    if (!only || only.includes("paid")) {
      await inspector.send("Profiler.start");
      const n = Number(process.env.PAID_N ?? "10");
      for (let i = 0; i < n; i++) await buy("/articles/hello-x402");
      const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
      writeFileSync(`${OUT}/paid.cpuprofile`, JSON.stringify(profile));
      console.log(`\n== paid /articles/hello-x402 (402 + paid retry)`);
      console.log(summarise(profile, source, n));
    }
    inspector.close();
  } finally {
    await load.close();
    await mf.dispose();
    await stack.stop();
  }
}

await main();
