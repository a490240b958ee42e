/**
 * `npm run bench -- --against <ref>`: the paywall as commit `ref` builds it, measured beside this
 * checkout's. The commit is checked out in a detached git worktree under bench/out/against/ (so
 * esbuild resolves packages from this project's node_modules by walking up), bundled with its own
 * wrangler.toml, and the worktree is removed again, also when the build fails or the run is
 * interrupted. Refused when a package its lockfile installs for production is installed here at
 * another version (the build would use packages other than its own) or its wrangler.toml binds
 * other storage.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundle, type Bundle } from "./build.ts";
import { againstTarget, PROJECT_BINDINGS, type TargetDef } from "./targets.ts";
import { parseWranglerBindings, type WranglerBindings } from "./wrangler-config.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Why a commit cannot be compared; `npm run bench` prints the message alone and exits 2. */
export class AgainstRefused extends Error {}

/** The built target and what it was built from. */
export interface AgainstBuild {
  ref: string;
  commit: string;
  def: TargetDef;
  bundle: Bundle;
}

function git(args: string[]): { ok: boolean; out: string; err: string } {
  const run = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  return { ok: run.status === 0, out: run.stdout.trim(), err: run.stderr.trim() };
}

/**
 * The packages a commit's lockfile installs for production (top level, not dev-only) that this
 * checkout's node_modules has at another version, or not at all: "name: theirs ≠ ours". A package
 * only this checkout installs is no obstacle, since the other commit never imports it.
 */
export function packageMismatches(lockfileJson: string): string[] {
  const lock = JSON.parse(lockfileJson) as {
    packages?: Record<string, { version?: string; dev?: boolean }>;
  };
  const out: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path.startsWith("node_modules/") || entry.dev === true || entry.version === undefined) {
      continue;
    }
    const name = path.slice("node_modules/".length);
    if (name.includes("/node_modules/")) continue; // nested: resolved beside its parent
    const manifest = join(ROOT, path, "package.json");
    const ours = existsSync(manifest)
      ? (JSON.parse(readFileSync(manifest, "utf8")) as { version?: string }).version
      : undefined;
    if (ours !== entry.version) out.push(`${name}: ${entry.version} ≠ ${ours ?? "absent"}`);
  }
  return out;
}

/** Binding names that differ between two wrangler.toml files, one line each; empty when none. */
export function bindingDifferences(ours: WranglerBindings, theirs: WranglerBindings): string[] {
  const lines: string[] = [];
  const compare = (kind: string, a: string[], b: string[]): void => {
    const missing = a.filter((name) => !b.includes(name));
    const extra = b.filter((name) => !a.includes(name));
    if (missing.length > 0) lines.push(`${kind} it lacks: ${missing.join(", ")}`);
    if (extra.length > 0) lines.push(`${kind} only it has: ${extra.join(", ")}`);
  };
  compare("KV namespaces", ours.kv, theirs.kv);
  compare("D1 databases", ours.d1, theirs.d1);
  compare(
    "Durable Object bindings",
    Object.keys(ours.durableObjects),
    Object.keys(theirs.durableObjects),
  );
  return lines;
}

/** Checks `ref`, builds its paywall under `buildDir/paywall-against`, and removes its checkout. */
export async function buildAgainst(ref: string, buildDir: string): Promise<AgainstBuild> {
  const resolved = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (!resolved.ok || !resolved.out)
    throw new AgainstRefused(`bench: --against ${ref}: no such commit`);
  const commit = resolved.out;
  const short = git(["rev-parse", "--short", commit]).out || commit.slice(0, 7);
  const lockfile = git(["show", `${commit}:package-lock.json`]);
  if (!lockfile.ok) {
    throw new AgainstRefused(`bench: --against ${ref} (${short}) has no package-lock.json`);
  }
  const mismatched = packageMismatches(lockfile.out);
  if (mismatched.length > 0) {
    throw new AgainstRefused(
      `bench: --against ${ref} (${short}): it would be built with this checkout's node_modules, ` +
        `where packages it installs differ (${mismatched.slice(0, 5).join("; ")}` +
        `${mismatched.length > 5 ? `; ${mismatched.length - 5} more` : ""}). Pick a commit whose ` +
        "packages are installed here (git log -- package-lock.json shows where they changed).",
    );
  }
  const toml = git(["show", `${commit}:wrangler.toml`]);
  if (!toml.ok) throw new AgainstRefused(`bench: --against ${ref} (${short}) has no wrangler.toml`);
  const bindings = parseWranglerBindings(toml.out);
  const differences = bindingDifferences(PROJECT_BINDINGS, bindings);
  if (differences.length > 0) {
    throw new AgainstRefused(
      `bench: --against ${ref} (${short}): its wrangler.toml binds other storage than HEAD's ` +
        `(${differences.join("; ")}); the two cannot be served alike.`,
    );
  }

  const dir = join(ROOT, "bench/out/against", short);
  const remove = (): void => {
    git(["worktree", "remove", "--force", dir]);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    git(["worktree", "prune"]);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    remove();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  remove(); // left over from an interrupted run
  mkdirSync(join(ROOT, "bench/out/against"), { recursive: true });
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", remove);
  try {
    const added = git(["worktree", "add", "--detach", dir, commit]);
    if (!added.ok) throw new Error(`bench: git worktree add ${short} failed:\n${added.err}`);
    const def = againstTarget(ref, dir, bindings);
    const built = await bundle(def.build, buildDir);
    return { ref, commit: short, def, bundle: built };
  } finally {
    remove();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("exit", remove);
  }
}
