/* global process, console, setInterval, clearInterval */
/**
 * `node scripts/run.mjs <command> [args…]`: runs a command of the project with the project's Node,
 * whatever Node started it. Every npm script goes through it, so each works as the first command
 * on a fresh clone: it installs the dependencies if needed (`npm ci`, which brings Node 22 as
 * node_modules/.bin/node on Linux x64), then runs the command with node_modules/.bin first on
 * PATH and `node` meaning Node >= 22.12 (this Node if it is one, else node_modules/.bin/node).
 * The shell that ran the npm script cannot do this itself: it looked `node` up before the
 * install created node_modules/.bin/node. Arguments, stdio and the exit status pass through;
 * SIGINT, SIGTERM and SIGHUP are passed on to the command, and so is the end of the npm process
 * that ran this one (as SIGTERM); this process ends when the command does.
 * Plain JavaScript, for the same reason as ensure-deps.mjs.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDeps } from "./ensure-deps.mjs";

const MIN_NODE = [22, 12];
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = join(root, "node_modules", ".bin");
const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node scripts/run.mjs <command> [args…]");
  process.exit(2);
}

if (!ensureDeps(root)) process.exit(1);

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const recent = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
const node = recent ? process.execPath : join(bin, "node");
if (!existsSync(node)) {
  console.error(
    `This project needs Node.js ${MIN_NODE.join(".")} or newer (this is ${process.version}). ` +
      "On Linux x64 npm installs it as node_modules/.bin/node; elsewhere install it yourself.",
  );
  process.exit(1);
}

const env = { ...process.env, PATH: [bin, dirname(node), process.env.PATH].join(delimiter) };
const child = spawn(command === "node" ? node : command, args, { env, stdio: "inherit" });

const signals = ["SIGINT", "SIGTERM", "SIGHUP"];
for (const signal of signals) process.on(signal, () => child.kill(signal));
// `kill <npm's pid>` makes npm end its shell, not this process: once orphaned, stop the command.
const parent = process.ppid;
const orphaned = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(orphaned);
  child.kill("SIGTERM");
}, 500);
orphaned.unref();
child.on("error", (error) => {
  console.error(`cannot run ${command}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // End the way the command ended, so the shell and npm above see the same signal.
    for (const s of signals) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  } else {
    process.exit(code ?? 1);
  }
});
