/**
 * The load generator: autocannon (HTTP/1.1 keep-alive, closed loop) on loopback, run in a child
 * process (bench/load-child.ts).
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

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
  /** CPU time the target's processes used per answer (µs), when measured (see bench/cpu.ts). */
  cpuUsPerRequest?: number;
}

type Reply = { ok: true; result: LoadResult } | { ok: false; error: string };

/** Runs load requests one after another in a dedicated process; `close()` ends it. */
export class LoadGenerator {
  readonly #child = fork(fileURLToPath(new URL("./load-child.ts", import.meta.url)), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  #queue: Promise<unknown> = Promise.resolve();

  /** Runs `request` after any run already queued. */
  run(request: LoadRequest): Promise<LoadResult> {
    const next = this.#queue.then(
      () =>
        new Promise<LoadResult>((resolve, reject) => {
          this.#child.once("message", (reply: Reply) =>
            reply.ok ? resolve(reply.result) : reject(new Error(reply.error)),
          );
          this.#child.send(request);
        }),
    );
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Ends the child process (it exits on disconnect; killed if it has not within 2 s). */
  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.disconnect();
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }
}
