import { config } from "zod/v4-mini";
import type { core } from "zod/v4-mini";

/**
 * Zod Mini (zod 3.25's `zod/v4-mini`), the one schema library of the Worker, with the English
 * messages its 4xx reasons use. Every schema in src/ imports it from here (`import * as z from
 * "../zod"`), never from "zod". Names are imported one by one (never the whole namespace as a
 * value) so the bundler keeps only the functions used.
 *
 * Why Mini: the classic API is one class per type with every method, which no bundler can
 * shake: about 15 KB of the Worker's gzip bundle. Mini, as the Worker uses it, is about 10 KB;
 * moving to it took the bundle from 115,930 to 111,488 bytes (gzip -6 of wrangler's output).
 * Mini ships no messages of its own ("Invalid input" for everything), and zod's English locale
 * words them differently from the classic API the tables, admin calls and tests were written
 * against; the map below keeps the classic wording ("Required", "Expected object, received
 * null", "Unrecognized key(s) in object: 'prize'") for the checks whose message a schema does
 * not set itself.
 */

type RawIssue = core.$ZodRawIssue;

/** The name of a value's type in a message, as zod's classic API spelled it. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isNaN(value)) return "nan";
  return typeof value;
}

const quote = (value: unknown): string =>
  typeof value === "string" ? `'${value}'` : String(value);

function size(issue: RawIssue & { code: "too_small" | "too_big" }): string {
  const small = issue.code === "too_small";
  const bound = small ? issue.minimum : issue.maximum;
  const exact = issue.exact === true;
  if (issue.origin === "string" || issue.origin === "array") {
    const unit = issue.origin === "string" ? "character(s)" : "element(s)";
    const how = exact ? "exactly" : small ? "at least" : "at most";
    const noun = issue.origin === "string" ? "String" : "Array";
    return `${noun} must contain ${how} ${bound} ${unit}`;
  }
  const strict = issue.inclusive === false;
  const how = small
    ? strict
      ? "greater than"
      : "greater than or equal to"
    : strict
      ? "less than"
      : "less than or equal to";
  return `Number must be ${how} ${bound}`;
}

/** A discriminated union's message for a tag that names none of its options. */
function discriminatorMessage(issue: RawIssue): string {
  type Union = {
    _zod?: { def?: { discriminator?: string }; propValues?: Record<string, Set<unknown>> };
  };
  const union = (issue.inst as Union | undefined)?._zod;
  const key = union?.def?.discriminator;
  const values = key === undefined ? undefined : union?.propValues?.[key];
  if (!values) return "Invalid discriminator value";
  return `Invalid discriminator value. Expected ${[...values].map(quote).join(" | ")}`;
}

/** The message of an issue whose check names none, worded as zod's classic API did. */
export function englishMessage(issue: RawIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "Required";
      if (issue.expected === "int") {
        return Number.isInteger(issue.input)
          ? "Number must be a safe integer"
          : "Expected integer, received float";
      }
      // A record is an object to the person reading the message, as the classic API said.
      return `Expected ${issue.expected === "record" ? "object" : issue.expected}, received ${typeName(issue.input)}`;
    case "too_small":
    case "too_big":
      return size(issue);
    case "unrecognized_keys":
      return `Unrecognized key(s) in object: ${issue.keys.map(quote).join(", ")}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `Invalid literal value, expected ${JSON.stringify(issue.values[0])}`
        : `Invalid enum value. Expected ${issue.values.map(quote).join(" | ")}, received ${quote(issue.input)}`;
    case "invalid_format":
      if (issue.format === "starts_with") return `Invalid input: must start with "${issue.prefix}"`;
      return issue.format === "regex" ? "Invalid" : `Invalid ${issue.format}`;
    case "invalid_union":
      return issue.errors.length === 0 ? discriminatorMessage(issue) : "Invalid input";
    case "invalid_key":
      return issue.issues[0]?.message ?? "Invalid key";
    default:
      return "Invalid input";
  }
}

config({ localeError: englishMessage });

/**
 * Whether an object check's input had `key`, valid or not. Zod Mini leaves a field that failed
 * its own check out of the value an object-level check sees (the classic API kept it), so a
 * rule about which fields are given asks here rather than of the value.
 */
export function given(payload: core.ParsePayload<object>, key: string): boolean {
  return key in payload.value || payload.issues.some((issue) => issue.path?.[0] === key);
}

export * from "zod/v4-mini";
