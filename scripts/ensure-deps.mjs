/* global process, console */
/**
 * Makes `npm start` and `npm test` work on a fresh clone: installs the pinned dependencies
 * (`npm ci`) when node_modules is missing or was installed from another package-lock.json.
 * The lockfile's SHA-256 is recorded after each install, so a checkout that only touches the
 * lockfile's timestamp (git worktrees, switching branches) does not reinstall. Plain
 * JavaScript, because it runs on whatever Node the machine has, before the project's Node 22 is
 * installed.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";

const installed = "node_modules/.package-lock.json";
const stamp = "node_modules/.x402-lockfile-sha256";
const lockHash = createHash("sha256").update(readFileSync("package-lock.json")).digest("hex");

function fresh() {
  if (!existsSync(installed) || !existsSync("node_modules/.bin/wrangler")) return false;
  if (existsSync(stamp)) return readFileSync(stamp, "utf8").trim() === lockHash;
  return statSync(installed).mtimeMs >= statSync("package-lock.json").mtimeMs;
}

if (!fresh()) {
  console.log("installing the pinned dependencies (npm ci) …");
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) {
    console.error("npm ci failed; see the output above");
    process.exit(result.status ?? 1);
  }
  writeFileSync(stamp, `${lockHash}\n`);
}
