/**
 * The paywall's bindings and variables as wrangler.toml declares them, so the bench serves the
 * bundle with exactly the storage a deployment has (KV, D1, Durable Objects), whatever is added
 * later. Reads only the simple `key = "value"` lines of the sections it knows.
 */
import { readFileSync } from "node:fs";

/** What the bench needs from wrangler.toml. */
export interface WranglerBindings {
  vars: Record<string, string>;
  /** KV binding names. */
  kv: string[];
  /** D1 binding names. */
  d1: string[];
  /** Durable Object binding name → exported class name. */
  durableObjects: Record<string, string>;
}

/** Parses `path` (the project's wrangler.toml). */
export function readWranglerBindings(path: string): WranglerBindings {
  return parseWranglerBindings(readFileSync(path, "utf8"));
}

/** Parses the text of a wrangler.toml. */
export function parseWranglerBindings(toml: string): WranglerBindings {
  const out: WranglerBindings = { vars: {}, kv: [], d1: [], durableObjects: {} };
  let section = "";
  let entry: Record<string, string> = {};
  const flush = (): void => {
    if (section === "[[kv_namespaces]]" && entry["binding"]) out.kv.push(entry["binding"]);
    if (section === "[[d1_databases]]" && entry["binding"]) out.d1.push(entry["binding"]);
    if (section === "[[durable_objects.bindings]]" && entry["name"] && entry["class_name"]) {
      out.durableObjects[entry["name"]] = entry["class_name"];
    }
    entry = {};
  };
  for (const raw of toml.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      flush();
      section = line;
      continue;
    }
    const pair = /^([A-Za-z0-9_]+)\s*=\s*"([^"]*)"/.exec(line);
    if (!pair?.[1] || pair[2] === undefined) continue;
    if (section === "[vars]") out.vars[pair[1]] = pair[2];
    else entry[pair[1]] = pair[2];
  }
  flush();
  return out;
}
