/**
 * Child processes of the local stack and the tests: each runs in its own process group, so
 * stopping it also stops everything it started (wrangler starts workerd, for instance).
 */
import { spawn } from "node:child_process";

/** A running child process group. */
export interface ProcessGroup {
  readonly pid: number;
  /** The last few kB of its output, for error messages. */
  output(): string;
  /** Resolves with a description once the process has exited. */
  readonly exited: Promise<string>;
  /** Stops the group: SIGTERM, then SIGKILL after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `command` in a new process group; the group is killed if this process exits first. */
export function startProcessGroup(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; echo?: boolean } = {},
): ProcessGroup {
  const child = spawn(command, args, {
    detached: true,
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output = (output + text).slice(-8000);
    if (options.echo) process.stdout.write(text);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      resolve(`exit code ${code ?? "none"}, signal ${signal ?? "none"}`);
    });
    child.once("error", (error) => {
      done = true;
      resolve(`could not start ${command}: ${error.message}`);
    });
  });
  const kill = (signal: NodeJS.Signals) => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const onExit = () => kill("SIGKILL");
  process.once("exit", onExit);
  return {
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    async stop(graceMs = 3000) {
      process.removeListener("exit", onExit);
      kill("SIGTERM");
      const timeout = new Promise<"timeout">((r) =>
        setTimeout(() => r("timeout"), graceMs).unref(),
      );
      if ((await Promise.race([exited, timeout])) === "timeout") {
        kill("SIGKILL");
        await exited;
      }
    },
  };
}

/** Polls `check` every 50 ms until it is true, the process exits, or `timeoutMs` passes. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  group: ProcessGroup,
  timeoutMs: number,
): Promise<void> {
  let exited: string | undefined;
  void group.exited.then((how) => (exited = how));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited (${exited}):\n${group.output()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${group.output()}`);
}
