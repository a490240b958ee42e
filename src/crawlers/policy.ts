import { atomicToUsd } from "../pricing/assets";
import type { CrawlerTerms, Match, Offer, Policy } from "../pricing";
import type { Crawler } from "../pricing";
import type { CrawlerIdentity } from "./identify";

/**
 * What the price table's crawler policies (docs/pay-per-crawl.md) say about one identified request,
 * as a pure function a reviewer can read alone. The rules it keeps:
 * - a User-Agent alone never earns a crawler's own policy: only a verified signature does;
 * - a signature that does not verify is refused, never downgraded to "unsigned";
 * - a key directory that cannot be loaded is a retryable error, never a pass;
 * - people (no claim, no signature) pay a priced rule's own price as anyone does, and read
 *   crawler-only rules (free rules with a `crawlerPrice`) under the `unknown` policy (default
 *   `allow`);
 * - plain free rules (no crawl price) are not the policies' business: robots.txt stays free.
 */

/** Who a decision was made for, for logs and the origin. */
export interface Subject {
  /** `verified`, `signed` (valid signature, directory bound to no crawler), `unverified`, `unknown`. */
  class: "verified" | "signed" | "unverified" | "unknown";
  crawler?: Crawler | undefined;
  /** The verified key's thumbprint: whose credit may be spent. */
  keyid?: string | undefined;
  /** The key directory the verified key came from (names a crawler the catalogue does not). */
  directory?: string | undefined;
  /** The verified signature's nonce and expiry: one credit debit per signed request. */
  nonce?: string | undefined;
  /** When the verified signature was made (Unix seconds): how stale a copy of it can be. */
  created?: number | undefined;
  expires?: number | undefined;
  /** Header fields the signature covers (price headers must be among them). */
  covered?: readonly string[] | undefined;
}

/** The outcome of the policies for one request. */
export type CrawlDecision =
  /** Crawler policies do not apply: the rule's own terms decide. */
  | { type: "pass" }
  | { type: "allow"; subject: Subject }
  | { type: "block"; subject: Subject }
  /** The client pays `offer` (x402, or prepaid credit when verified). */
  | { type: "charge"; subject: Subject; offer: Offer }
  /** A signature was sent and does not verify. */
  | { type: "invalid-signature"; reason: string }
  /** A signature was sent and its key directory cannot be loaded now. */
  | { type: "directory-unavailable"; reason: string };

/** Applies the table's crawler terms to an identified request on the matched rule. */
export function decide(
  identity: CrawlerIdentity,
  match: Match,
  terms: CrawlerTerms | undefined,
): CrawlDecision {
  if (!terms || !match.crawl) return { type: "pass" };
  switch (identity.kind) {
    case "invalid":
      return { type: "invalid-signature", reason: identity.reason };
    case "unavailable":
      return { type: "directory-unavailable", reason: identity.reason };
    case "verified": {
      const own = terms.policies.get(identity.crawler.id);
      const subject = signedSubject("verified", identity, identity.crawler);
      return apply(own ?? terms.signed, subject, match.crawl);
    }
    case "verified-unknown":
      return atLeastPeople(
        apply(terms.signed, signedSubject("signed", identity, undefined), match.crawl),
        match,
      );
    case "unverified":
      return atLeastPeople(
        apply(terms.unverified, { class: "unverified", crawler: identity.claimed }, match.crawl),
        match,
      );
    case "anonymous":
      if (match.kind === "priced") return { type: "pass" };
      return apply(terms.unknown, { class: "unknown" }, match.crawl);
  }
}

function signedSubject(
  kind: "verified" | "signed",
  identity: Extract<CrawlerIdentity, { kind: "verified" | "verified-unknown" }>,
  crawler: Crawler | undefined,
): Subject {
  return {
    class: kind,
    crawler,
    keyid: identity.keyid,
    directory: identity.directory,
    nonce: identity.signature.nonce,
    created: identity.signature.created,
    expires: identity.signature.expires,
    covered: identity.signature.coveredComponents,
  };
}

/**
 * How the operator sees who was charged: by name (the catalogue's, else the host of the key
 * directory the key came from; a User-Agent claim without a signature says "(unverified)"), with
 * the key's thumbprint as the detail that tells two keys of one name apart ("" when unsigned).
 */
export function crawlerTag(subject: Subject): { name: string; key: string } {
  const key = subject.keyid ?? "";
  const claimed = subject.crawler?.name;
  if (subject.class === "unverified") return { name: `${claimed ?? "unknown"} (unverified)`, key };
  if (claimed) return { name: claimed, key };
  const host = subject.directory ? directoryHost(subject.directory) : undefined;
  return { name: host ?? (key ? "signed crawler" : "unknown"), key };
}

/** The host (and port) of a key directory URL, or undefined when it is not a URL. */
export function directoryHost(directory: string): string | undefined {
  try {
    return new URL(directory).host || undefined;
  } catch {
    return undefined;
  }
}

/**
 * On a rule people pay for, a client only a User-Agent claim or a key of its own identifies
 * (anyone can send either) never pays less than people do: a policy that would let it in free or
 * cheaper leaves it to the rule's own terms. Only a crawler verified as itself gets a lower price.
 */
function atLeastPeople(decision: CrawlDecision, match: Match): CrawlDecision {
  if (match.kind !== "priced") return decision;
  if (decision.type === "allow") return { type: "pass" };
  if (decision.type !== "charge") return decision;
  const { offer } = decision;
  const sameAsset =
    offer.network === match.offer.network &&
    offer.asset.toLowerCase() === match.offer.asset.toLowerCase();
  if (!sameAsset || BigInt(offer.amount) < BigInt(match.offer.amount)) return { type: "pass" };
  return decision;
}

function apply(policy: Policy, subject: Subject, crawl: Offer): CrawlDecision {
  if (policy.action === "allow") return { type: "allow", subject };
  if (policy.action === "block") return { type: "block", subject };
  if (policy.amount === undefined) return { type: "charge", subject, offer: crawl };
  const display = atomicToUsd(policy.amount, 6);
  return { type: "charge", subject, offer: { ...crawl, amount: policy.amount, display } };
}

/**
 * What a decision gives a signed client beyond what the same request gets without a signature
 * (as an anonymous client: a priced rule's own price, a crawler-only rule's `unknown` policy):
 * - `free`: let in free where others are charged or blocked;
 * - `cheaper`: charged less than others are (or in another asset, which cannot be compared);
 * - `none`: nothing a copy of the signature could be worth money for.
 * A captured signature can be replayed by anyone until it expires; the gate asks more of the
 * signatures whose decision is a privilege (crawler-gate.ts), and nothing of the others.
 */
export type Privilege = "none" | "free" | "cheaper";

/** The privilege `decision` grants on `match`, compared with an anonymous client's lot. */
export function privilegeOf(
  decision: CrawlDecision,
  match: Match,
  terms: CrawlerTerms | undefined,
): Privilege {
  if (decision.type !== "allow" && decision.type !== "charge") return "none";
  const baseline = decide({ kind: "anonymous" }, match, terms);
  if (decision.type === "allow") return baseline.type === "allow" ? "none" : "free";
  const others =
    baseline.type === "charge"
      ? baseline.offer
      : baseline.type === "pass" && match.kind === "priced"
        ? match.offer
        : undefined;
  if (!others) return "none"; // others get in free, or not at all: paying is no privilege
  const comparable =
    others.network === decision.offer.network &&
    others.asset.toLowerCase() === decision.offer.asset.toLowerCase();
  if (!comparable) return "cheaper";
  return BigInt(decision.offer.amount) < BigInt(others.amount) ? "cheaper" : "none";
}
