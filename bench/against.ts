/**
 * `npm run bench -- --against <ref>`: the paywall as commit `ref` builds it, measured beside this
 * checkout's. The commit is checked out in a detached git worktree under bench/out/against/ (so
 * esbuild resolves packages from this project's node_modules by walking up), bundled with its own
 * wrangler.toml, and the worktree is removed again, also when the build fails or the run is
 * interrupted. Refused when its package-lock.json differs from HEAD's (the build would use
 * packages other than its own) or its wrangler.toml binds other storage.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
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
  const lockfile = git(["diff", "--quiet", commit, "HEAD", "--", "package-lock.json"]);
  if (!lockfile.ok) {
    throw new AgainstRefused(
      `bench: --against ${ref} (${short}): its package-lock.json differs from HEAD's, so it would ` +
        "be built with this checkout's node_modules, not its own packages. Pick a commit whose " +
        "lockfile is HEAD's (git log -- package-lock.json shows where it changed).",
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
