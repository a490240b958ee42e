/**
 * The source of src/assets/manifest.ts, the one place the Worker learns the content-hashed path
 * and Subresource Integrity of each file in static/ (served through the `ASSETS` binding,
 * src/assets). Pure: files in, TypeScript out; scripts/assets.ts writes or checks it.
 */
import { createHash } from "node:crypto";

/** What each served extension is sent as (RFC 9239 for JavaScript). */
const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** Where the Worker serves static files: inside its own reserved prefix, never the origin's. */
export const ASSET_PREFIX = "/__x402/assets/";

/** One file of static/: its name (e.g. "paywall.js") and bytes. */
export interface StaticFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * The manifest module for `files`: per file, `path` (the name with the first 16 hex digits of
 * its SHA-256 before the extension, so a new version is a new URL and every version can be
 * cached for good), `file` (where the `ASSETS` binding has it), `type`, and for a script its
 * `integrity` (SRI, SHA-384: a browser runs no other bytes under the page's nonce). A
 * stylesheet has none: it runs nothing, and every byte of the Worker's bundle counts (the
 * hashes do not compress). Files are listed by name, so the output depends on the contents only.
 */
export function manifestSource(files: readonly StaticFile[]): string {
  const entries = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((file) => {
      const match = /^([a-z0-9-]+)\.([a-z]+)$/.exec(file.name);
      const type = match && TYPES[match[2]!];
      if (!match || !type) throw new Error(`static/${file.name}: not a served kind of file`);
      const hash = createHash("sha256").update(file.bytes).digest("hex").slice(0, 16);
      const integrity = createHash("sha384").update(file.bytes).digest("base64");
      return [
        `  "${file.name}": {`,
        `    path: "${ASSET_PREFIX}${match[1]}.${hash}.${match[2]}",`,
        `    file: "/${file.name}",`,
        `    type: "${type}",`,
        ...(match[2] === "js" ? [`    integrity: "sha384-${integrity}",`] : []),
        `  },`,
      ].join("\n");
    });
  return [
    "// Generated from static/ by `npm run assets` (scripts/assets.ts); `npm run check` fails when",
    "// it is out of date. Do not edit.",
    "",
    "/** Each file of static/ by name: its content-hashed path, location, type (and SRI hash). */",
    "export const STATIC_ASSETS = {",
    ...entries,
    "} as const;",
    "",
  ].join("\n");
}
