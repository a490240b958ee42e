import { CRAWLERS } from "../pricing";
import type { Crawler } from "../pricing";

/**
 * The crawler a User-Agent header names, from the catalogue (src/pricing/crawler-catalogue.ts).
 * A User-Agent only *claims* an identity; identify.ts decides whether a signature proves it.
 */

/** User-Agent headers longer than this are not searched (no crawler sends one that long). */
const MAX_USER_AGENT_CHARS = 1024;

/** Characters that continue a product token: a match must not touch one on either side. */
const TOKEN_CHAR = /[A-Za-z0-9_-]/;

/**
 * The crawler a User-Agent claims to be, or undefined. Matching is case-insensitive and needs
 * the token as a whole word, so browser User-Agents (Mozilla, AppleWebKit, Safari, Chrome, Edg)
 * never match, and neither does a token embedded in a longer one.
 */
export function identifyByUserAgent(
  userAgent: string | null | undefined,
  catalogue: readonly Crawler[] = CRAWLERS,
): Crawler | undefined {
  if (!userAgent || userAgent.length > MAX_USER_AGENT_CHARS) return undefined;
  const haystack = userAgent.toLowerCase();
  return catalogue.find((crawler) =>
    crawler.userAgentTokens.some((token) => containsWord(haystack, token.toLowerCase())),
  );
}

function containsWord(haystack: string, token: string): boolean {
  if (token === "") return false;
  for (let at = haystack.indexOf(token); at !== -1; at = haystack.indexOf(token, at + 1)) {
    const before = haystack[at - 1] ?? " ";
    const after = haystack[at + token.length] ?? " ";
    if (!TOKEN_CHAR.test(before) && !TOKEN_CHAR.test(after)) return true;
  }
  return false;
}
