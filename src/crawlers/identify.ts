import { CRAWLERS } from "../pricing";
import type { Crawler } from "../pricing";
import { identifyByUserAgent } from "./user-agent";
import type { WebBotAuthResult, WebBotAuthVerifier } from "./web-bot-auth";

/**
 * Who is asking, combining the User-Agent claim with the Web Bot Auth proof
 * (docs/pay-per-crawl.md). A crawler counts as itself only when a valid signature comes from a key
 * directory bound to it (in the catalogue or by the operator); a User-Agent alone, or a signature
 * from some other directory, never makes a request "GPTBot".
 */

/** The identity of a request. */
export type CrawlerIdentity =
  /** A valid signature from a directory bound to `crawler`. */
  | { kind: "verified"; crawler: Crawler; keyid: string; directory: string; signature: Verified }
  /** A valid signature from a directory bound to no known crawler: a bot known by its key. */
  | {
      kind: "verified-unknown";
      keyid: string;
      directory: string;
      claimed?: Crawler;
      signature: Verified;
    }
  /** The User-Agent claims a crawler and no signature was sent. */
  | { kind: "unverified"; claimed: Crawler }
  /** A signature was sent and does not verify; `claimed` is what the User-Agent said, if anything. */
  | { kind: "invalid"; reason: string; claimed?: Crawler }
  /** A signature was sent and its key directory cannot be loaded now: unproven, retry later. */
  | { kind: "unavailable"; reason: string }
  /** Neither a claim nor a signature: a person, or a bot that does not say. */
  | { kind: "anonymous" };

/** A verified signature result. */
export type Verified = Extract<WebBotAuthResult, { status: "verified" }>;

/** Options of {@link identifyCrawler}. */
export interface IdentifyOptions {
  /** Defaults to the built-in {@link CRAWLERS}. */
  catalogue?: readonly Crawler[];
  /** Extra key directory origins per crawler id, added to the catalogue's (operator configuration). */
  directories?: Readonly<Record<string, readonly string[]>>;
}

/** Identifies the sender of a request; never throws (the verifier returns failures as values). */
export async function identifyCrawler(
  request: Request,
  verifier: WebBotAuthVerifier,
  options: IdentifyOptions = {},
): Promise<CrawlerIdentity> {
  const catalogue = options.catalogue ?? CRAWLERS;
  const claimed = identifyByUserAgent(request.headers.get("user-agent"), catalogue);
  const signature = await verifier.verify(request);
  if (signature.status === "unsigned")
    return claimed ? { kind: "unverified", claimed } : { kind: "anonymous" };
  if (signature.status === "invalid")
    return { kind: "invalid", reason: signature.reason, ...(claimed && { claimed }) };
  if (signature.status === "unavailable") return { kind: "unavailable", reason: signature.reason };

  const crawler = boundCrawler(signature.directory, claimed, catalogue, options.directories);
  const { keyid, directory } = signature;
  if (crawler) return { kind: "verified", crawler, keyid, directory, signature };
  return { kind: "verified-unknown", keyid, directory, ...(claimed && { claimed }), signature };
}

/**
 * The crawler a key directory is bound to (in the catalogue or by the operator), or undefined.
 * One operator may sign for several crawlers from one directory: the claim picks among them.
 */
export function boundCrawler(
  directory: string,
  claimed: Crawler | undefined,
  catalogue: readonly Crawler[] = CRAWLERS,
  directories?: IdentifyOptions["directories"],
): Crawler | undefined {
  const origin = originOf(directory);
  const bound = catalogue.filter((crawler) =>
    [...(crawler.directories ?? []), ...(directories?.[crawler.id] ?? [])].some(
      (url) => originOf(url) === origin,
    ),
  );
  return bound.find((c) => c.id === claimed?.id) ?? bound[0];
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
