/* global process, console */
/**
 * Makes `npm start` and `npm test` work on a fresh clone: installs the pinned dependencies
 * (`npm ci`) when node_modules is missing or older than package-lock.json. Plain JavaScript,
 * because it runs on whatever Node the machine has, before the project's Node 22 is installed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const installed = "node_modules/.package-lock.json";
const fresh =
  existsSync(installed) &&
  existsSync("node_modules/.bin/wrangler") &&
  statSync(installed).mtimeMs >= statSync("package-lock.json").mtimeMs;

if (!fresh) {
  console.log("installing the pinned dependencies (npm ci) …");
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) {
    console.error("npm ci failed; see the output above");
    process.exit(result.status ?? 1);
  }
}
