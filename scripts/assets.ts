/**
 * `npm run assets` (`node scripts/assets.ts [--check]`): writes src/assets/manifest.ts from the
 * files in static/ (scripts/asset-manifest.ts). With `--check`, as `npm run check` runs it,
 * writes nothing and fails (exit 1) when the manifest does not match static/: a page would
 * name a script or stylesheet by a hash the deployed file does not have, and browsers refuse it.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { manifestSource } from "./asset-manifest.ts";

const root = join(import.meta.dirname, "..");
const manifest = join(root, "src", "assets", "manifest.ts");

/** The manifest static/ calls for now. */
export function currentManifest(): string {
  const dir = join(root, "static");
  const files = readdirSync(dir)
    .filter((name) => !name.startsWith("."))
    .map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
  return manifestSource(files);
}

if (import.meta.main) {
  const wanted = currentManifest();
  const written = existsSync(manifest) ? readFileSync(manifest, "utf8") : "";
  if (process.argv.includes("--check")) {
    if (written !== wanted) {
      console.error("src/assets/manifest.ts does not match static/: run `npm run assets`");
      process.exit(1);
    }
  } else if (written !== wanted) {
    writeFileSync(manifest, wanted);
    console.log("wrote src/assets/manifest.ts");
  }
}
