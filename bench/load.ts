/**
 * The load generator: autocannon (HTTP/1.1 keep-alive, closed loop) on loopback, run in a worker
 * thread (bench/load-thread.ts).
 */
import { Worker } from "node:worker_threads";

/** One timed run against one URL. */
export interface LoadRequest {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
}

/** What one run measured. */
export interface LoadResult {
  /** Answers per second over the run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  answered: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
}

type Reply = { ok: true; result: LoadResult } | { ok: false; error: string };

/** Runs load requests one after another in a dedicated thread; `close()` ends the thread. */
export class LoadGenerator {
  readonly #worker = new Worker(new URL("./load-thread.ts", import.meta.url));
  #queue: Promise<unknown> = Promise.resolve();

  /** Runs `request` after any run already queued. */
  run(request: LoadRequest): Promise<LoadResult> {
    const next = this.#queue.then(
      () =>
        new Promise<LoadResult>((resolve, reject) => {
          this.#worker.once("message", (reply: Reply) =>
            reply.ok ? resolve(reply.result) : reject(new Error(reply.error)),
          );
          this.#worker.postMessage(request);
        }),
    );
    this.#queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
