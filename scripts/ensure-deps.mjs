/* global console */
/**
 * Installs the pinned dependencies (`npm ci`) when node_modules is missing or was installed from
 * another package-lock.json, so every npm script works on a fresh clone. The lockfile's SHA-256
 * is recorded after each install, so a checkout that only touches the lockfile's timestamp (git
 * worktrees, switching branches) does not reinstall. Plain JavaScript: it runs on whatever Node
 * the machine has, before the project's Node 22 is installed.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Makes `root`'s node_modules match its lockfile; returns false (after printing why) if `npm ci`
 * failed. npm runs with `--loglevel=error`: its warnings on Node 20 (EBADENGINE: wrangler,
 * miniflare and vitest declare Node 22, which the install itself provides as
 * node_modules/.bin/node) are not for the user to act on; its errors still show.
 */
export function ensureDeps(root) {
  const lockfile = join(root, "package-lock.json");
  const installed = join(root, "node_modules/.package-lock.json");
  const stamp = join(root, "node_modules/.x402-lockfile-sha256");
  const lockHash = createHash("sha256").update(readFileSync(lockfile)).digest("hex");

  const fresh = () => {
    if (!existsSync(installed) || !existsSync(join(root, "node_modules/.bin/wrangler"))) {
      return false;
    }
    if (existsSync(stamp)) return readFileSync(stamp, "utf8").trim() === lockHash;
    return statSync(installed).mtimeMs >= statSync(lockfile).mtimeMs;
  };
  if (fresh()) return true;

  console.log("installing the pinned dependencies (npm ci, about a minute) …");
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) {
    console.error(
      result.error
        ? `npm ci could not run: ${result.error.message}`
        : "npm ci failed; see the output above",
    );
    return false;
  }
  writeFileSync(stamp, `${lockHash}\n`);
  return true;
}
