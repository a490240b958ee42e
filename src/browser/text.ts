import { networkInfo } from "../schemes";

/**
 * The words and escapes of the paywall page: pure functions a reviewer can check alone. Every
 * value that reaches the page, whether from the price table, the URL or the origin, passes
 * through `escapeHtml` (markup) or `embedJson` (the data block).
 */

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` become `\u`
 * escapes, so no `</script>` or `<!--` can end or bend the block (HTML §4.12.1.3), and U+2028/9
 * are escaped for older JavaScript parsers. `JSON.parse` reads it back unchanged.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/**
 * A CAIP-2 network as people call it: its label where the paywall knows the network ("Base
 * Sepolia", src/schemes), or "chain 10" for other EVM chains.
 */
export function networkName(network: string): string {
  const known = networkInfo(network)?.label;
  if (known) return known;
  const evm = /^eip155:(\d+)$/.exec(network);
  return evm ? `chain ${evm[1]}` : network;
}

/** What one payment buys on a session rule, as a sentence; empty for a single request. */
export function accessText(session: SessionReach | undefined): string {
  if (!session) return "One payment opens this page once.";
  const { ttlSeconds, uses } = session;
  const time = ttlSeconds === undefined ? "" : `for ${durationText(ttlSeconds)}`;
  const count = uses === undefined ? "" : `for ${uses} ${uses === 1 ? "visit" : "visits"}`;
  const reach = time && count ? `${time} or ${count}, whichever ends first` : time || count;
  return reach
    ? `One payment gives you access ${reach}; this browser remembers it.`
    : "One payment gives you lasting access; this browser remembers it.";
}

/** The reach of a session: seconds and uses, each unlimited when undefined. */
export interface SessionReach {
  ttlSeconds: number | undefined;
  uses: number | undefined;
}

const UNITS: ReadonlyArray<[number, string]> = [
  [86_400, "day"],
  [3_600, "hour"],
  [60, "minute"],
  [1, "second"],
];

/** "1 hour", "90 minutes", "2 days": the largest unit that divides the duration exactly. */
export function durationText(seconds: number): string {
  for (const [size, unit] of UNITS) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}
