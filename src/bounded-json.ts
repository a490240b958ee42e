/**
 * JSON from clients, read with bounds: the payment and sign-in headers are base64 JSON an
 * attacker writes, and everything downstream (payload hashing, deep comparison, forwarding to a
 * facilitator) walks the decoded value. Arrays nested a few thousand deep fit in a header and
 * overflow the stack of a recursive walk; a value that passes this reader is shallow and small
 * enough for any of them.
 */

/** How deep and how large a client's JSON may be. */
export interface JsonLimits {
  /** Nesting levels of arrays and objects; the top-level container is level 1. */
  maxDepth: number;
  /** JSON values in all, the top-level one, every array item and every object member included. */
  maxValues: number;
}

/**
 * Enough for every header an x402 client sends, `extensions` echoed from the 402 included (its
 * JSON Schemas nest about ten levels, plus an operator's input schema; a few hundred values).
 */
export const HEADER_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxValues: 1000 };

/** The parsed value, or why the text was refused: not JSON, nested too deep, or too many values. */
export type BoundedJson =
  { ok: true; value: unknown } | { ok: false; kind: "syntax" | "limit"; reason: string };

/**
 * Parses JSON text within `limits`; never throws. The depth is checked on the text before
 * `JSON.parse` runs and the values are counted without recursion, so no input can exhaust the
 * stack here.
 */
export function parseBoundedJson(text: string, limits = HEADER_JSON_LIMITS): BoundedJson {
  const depth = nestingDepth(text, limits.maxDepth);
  if (depth > limits.maxDepth) {
    return {
      ok: false,
      kind: "limit",
      reason: `is JSON nested deeper than ${limits.maxDepth} levels`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, kind: "syntax", reason: "does not decode to JSON" };
  }
  if (!withinValues(value, limits.maxValues)) {
    return {
      ok: false,
      kind: "limit",
      reason: `is JSON with more than ${limits.maxValues} values`,
    };
  }
  return { ok: true, value };
}

/** The deepest bracket nesting outside strings, counted up to `stopAbove` + 1. */
function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c)
        i++; // a backslash escapes the next character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > stopAbove) return deepest;
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/** Whether `value` holds at most `max` JSON values, counted with an explicit stack. */
function withinValues(value: unknown, max: number): boolean {
  const pending: unknown[] = [value];
  let count = 0;
  while (pending.length > 0) {
    const next = pending.pop();
    if (++count > max) return false;
    if (Array.isArray(next)) {
      for (const item of next) pending.push(item);
    } else if (typeof next === "object" && next !== null) {
      for (const item of Object.values(next)) pending.push(item);
    }
  }
  return true;
}
