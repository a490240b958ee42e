/**
 * `node scripts/check-cycles.ts`: fails (exit 1) when a module in src/ imports itself through
 * others, or a folder of src/ does (src/a/ imports src/b/ which imports src/a/). Type-only
 * imports count: a cycle of types still ties the modules' meaning together. Imports are found
 * and resolved by TypeScript itself with tsconfig.json's options. Run in `npm run check`; the
 * cycle finding is scripts/import-cycles.ts.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { cyclesOf, groupGraph } from "./import-cycles.ts";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");

/** The .ts files under `dir`, recursively (declaration files left out). */
function sourcesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesIn(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

const config = ts.getParsedCommandLineOfConfigFile(
  join(root, "tsconfig.json"),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
    },
  },
);
if (!config) throw new Error("tsconfig.json could not be read");

const files = sourcesIn(src);
const cache = ts.createModuleResolutionCache(root, (name) => name, config.options);
const graph = new Map<string, Set<string>>();
for (const file of files) {
  const name = relative(root, file);
  const imports = ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles;
  const targets = new Set<string>();
  for (const { fileName } of imports) {
    const resolved = ts.resolveModuleName(
      fileName,
      file,
      config.options,
      ts.sys,
      cache,
    ).resolvedModule;
    if (!resolved || resolved.isExternalLibraryImport) continue;
    const target = relative(root, resolved.resolvedFileName);
    if (target.startsWith("src/") && !target.endsWith(".d.ts")) targets.add(target);
  }
  graph.set(name, targets);
}

/**
 * A file's area: its top folder under src/ (`src/pricing`; `src/operator/admin/x.ts` is in
 * `src/operator`, whose subfolders may import their parent's shared modules), or the file itself
 * when it sits in src/.
 */
const folderOf = (file: string): string => {
  const parts = file.split("/");
  return parts.length <= 2 ? file : parts.slice(0, 2).join("/");
};

const fileCycles = cyclesOf(graph);
const folderCycles = cyclesOf(groupGraph(graph, folderOf));
for (const cycle of fileCycles) console.error(`import cycle between modules: ${cycle.join(", ")}`);
for (const cycle of folderCycles)
  console.error(`import cycle between folders: ${cycle.join(", ")}`);
if (fileCycles.length + folderCycles.length > 0) process.exit(1);
console.log(`import cycles: none among ${files.length} modules of src/ and their folders`);
