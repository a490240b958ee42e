/**
 * Worker thread that runs autocannon, so the load generator never shares an event loop with the
 * origin and pass-throughs of the main thread. One message in (a LoadRequest), one out.
 */
import autocannon from "autocannon";
import { parentPort } from "node:worker_threads";
import type { LoadRequest, LoadResult } from "./load.ts";

parentPort?.on("message", (request: LoadRequest) => {
  void run(request).then(
    (result) => parentPort?.postMessage({ ok: true, result }),
    (error: unknown) => parentPort?.postMessage({ ok: false, error: String(error) }),
  );
});

async function run(request: LoadRequest): Promise<LoadResult> {
  const result = await autocannon({
    url: request.url,
    connections: request.connections,
    duration: request.durationS,
    headers: request.headers,
  });
  const statuses: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[code] = stats.count ?? 0;
  }
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: answered / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    answered,
    errors: result.errors,
    statuses,
  };
}
