import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundle } from "../../../bench/build.ts";

/**
 * The Worker's size budget: the bundle `wrangler deploy` uploads (`--dry-run`, offline), gzipped,
 * stays under 100 KiB. Static files browsers fetch belong in static/ (the `ASSETS` binding), not
 * in the bundle.
 */

const BUDGET = 100 * 1024;
const dir = mkdtempSync(join(tmpdir(), "x402-bundle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Worker bundle", () => {
  it("should stay under 100 KiB gzipped", async () => {
    const built = await bundle({ id: "paywall" }, dir);
    expect(built.gzipBytes, `${built.gzipBytes} bytes gzipped`).toBeLessThan(BUDGET);
  }, 120_000);
});
