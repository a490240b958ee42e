/**
 * Child process that runs autocannon, so the load generator never shares an event loop with the
 * origin and pass-throughs of the bench's main process. (Not a worker thread: autocannon run in a
 * worker thread reports raw histograms instead of its summary.) One IPC message in (a
 * LoadRequest), one out; it exits when its parent disconnects.
 */
import autocannon from "autocannon";
import type { LoadRequest, LoadResult } from "./load.ts";

process.on("message", (request: LoadRequest) => {
  void run(request).then(
    (result) => process.send?.({ ok: true, result }),
    (error: unknown) => process.send?.({ ok: false, error: String(error) }),
  );
});
process.on("disconnect", () => process.exit(0));

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
