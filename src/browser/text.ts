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
 * are escaped for older JavaScript parsers. `JSON.parse` reads it back unchanged. `replacer` is
 * `JSON.stringify`'s.
 */
export function embedJson(
  value: unknown,
  replacer?: (key: string, value: unknown) => unknown,
): string {
  return JSON.stringify(value, replacer).replace(/[<>&\u2028\u2029]/g, (c) => {
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

/**
 * An address as markup that wraps only inside its digits: "0x" stays with the first four, then
 * groups of four characters, each unbreakable, may go to the next line between them. (A
 * `word-break: break-all` address broke anywhere, even right after the "0" of "0x".)
 */
export function addressHtml(address: string): string {
  const head = address.startsWith("0x") ? 6 : 4;
  const groups = [address.slice(0, head)];
  for (let at = head; at < address.length; at += 4) groups.push(address.slice(at, at + 4));
  return groups.map((g) => `<span>${escapeHtml(g)}</span>`).join("<wbr>");
}

/**
 * The name of the page at `url` for people, when its rule gives none: its last path segment
 * with dashes and underscores as spaces and the extension left off ("/articles/hello-x402" →
 * "Hello x402"), else the host.
 */
export function pageName(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const last = parsed.pathname.split("/").filter(Boolean).pop() ?? "";
  let segment = last;
  try {
    segment = decodeURIComponent(last);
  } catch {
    // a malformed escape is shown as it came
  }
  const words = segment
    .replace(/\.[a-z0-9]{1,5}$/i, "")
    .replace(/[-_+]+/g, " ")
    .trim();
  if (!words) return parsed.hostname;
  return words.charAt(0).toUpperCase() + words.slice(1);
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
