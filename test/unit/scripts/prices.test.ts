import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/** `npm run prices -- validate`, run as the operator runs it (offline: no admin API is asked). */

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "x402-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(table: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = join(dir, "prices.json");
  writeFileSync(path, JSON.stringify(table, null, 2));
  const node = join(ROOT, "node_modules/.bin/node");
  const args = [join(ROOT, "scripts/prices.ts"), "validate", path];
  const env = { ...process.env, NETWORK: "eip155:84532", PAY_TO: `0x${"2".repeat(40)}` };
  return new Promise((resolve) => {
    execFile(node, args, { cwd: ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe("prices validate", () => {
  it("should not say 'nothing was pushed' of a table it refuses (validate never pushes)", async () => {
    const result = await validate({ rules: [{ path: "/api/*", price: "three cents" }] });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('rules[0].price: must look like "$0.01"');
    expect(result.stderr).not.toContain("pushed");
    expect(result.stderr).toMatch(/prices\.json: 1 problem; the table is not valid\n$/);
  });

  it("should name the version and count the rules of a valid table, not a bare 'valid'", async () => {
    const result = await validate({
      version: "2026-11-21",
      rules: [
        { path: "/robots.txt", free: true },
        { path: "/api/*", price: "$0.001" },
        { path: "/articles/:slug", price: "$0.01" },
      ],
      crawlers: { policies: { gptbot: { action: "charge" }, bingbot: { action: "allow" } } },
    });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(
      /prices\.json: valid: version "2026-11-21": 3 rules \(2 priced, 1 free\), default free, 2 crawler policies, no crawl credit$/,
    );
  });
});
