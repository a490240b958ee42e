/**
 * `node scripts/check-links.ts`: fails (exit 1) when a relative link or `#anchor` in README.md,
 * docs/**\/*.md, bench/*.md or test/*.md does not resolve, naming each as
 * `file:line: broken link "…": why`.
 * Run at the end of `npm run check`; the checking itself is scripts/doc-links.ts.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkDocLinks, formatBroken } from "./doc-links.ts";

const root = join(import.meta.dirname, "..");

/** The Markdown files under `dir` (repository-relative), recursively or not. */
function markdownIn(dir: string, recursive: boolean): string[] {
  if (!existsSync(join(root, dir))) return [];
  const found: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() && recursive) found.push(...markdownIn(path, true));
    else if (entry.isFile() && entry.name.endsWith(".md")) found.push(path);
  }
  return found.sort();
}

const files = [
  "README.md",
  ...markdownIn("docs", true),
  ...markdownIn("bench", false),
  ...markdownIn("test", false),
];
const broken = checkDocLinks(files, {
  exists: (path) => existsSync(join(root, path)),
  read: (path) => {
    const full = join(root, path);
    return existsSync(full) && statSync(full).isFile() ? readFileSync(full, "utf8") : undefined;
  },
});
for (const link of broken) console.error(formatBroken(link));
if (broken.length > 0) {
  console.error(`doc links: ${broken.length} broken link(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`doc links: every relative link and anchor in ${files.length} file(s) resolves`);
