import { isRecord } from "../schemes";

/**
 * Which facilitators may handle a payment, in the operator's order of preference (x402 V2 spec §7):
 * a facilitator configured with `networks` takes only those; one set to `"supported"` takes
 * what its `GET /supported` lists (fetched once per isolate, cached); one whose listing failed
 * stays in line rather than be skipped; a plain URL takes everything. Hosted facilitators get
 * their own headers (API keys, from secrets).
 */

/** One configured facilitator. */
export interface FacilitatorEndpoint {
  /** Base URL, without a trailing slash. */
  url: string;
  /** For logs and messages; defaults to the URL's host. */
  name: string;
  /**
   * What it may settle: CAIP-2 networks (`eip155:8453`, or a namespace `eip155:*`); `"supported"`:
   * what its `/supported` lists; `"any"`: everything (a plain `FACILITATOR_URLS` entry).
   */
  networks: readonly string[] | "supported" | "any";
  /** Extra request headers, e.g. an API key. */
  headers: Readonly<Record<string, string>>;
}

/** What a payment needs from a facilitator. */
export interface PaymentKind {
  x402Version: number;
  scheme: string;
  network: string;
}

/** A kind as a facilitator lists it, with its `extra` (a fee payer, a settling address). */
export interface SupportedKind extends PaymentKind {
  extra?: Readonly<Record<string, unknown>>;
}

/** A facilitator's `/supported` kinds, as far as we know them. */
export type Support = { known: true; kinds: readonly SupportedKind[] } | { known: false };

/** How long a `/supported` listing is trusted. */
export const SUPPORTED_TTL_MS = 10 * 60_000;

/**
 * The endpoints that may handle `kind`, in order, found lazily: a `/supported` listing is only
 * asked for when the facilitators before it did not settle the matter. A payment bound to one
 * facilitator (`bound`: the `extra` values only it can have given, such as the fee payer of a
 * Solana transaction or the settling address of an upto permit) goes only to a facilitator
 * whose listing shows those values.
 */
export async function* candidatesFor(
  endpoints: readonly FacilitatorEndpoint[],
  kind: PaymentKind,
  supportOf: (endpoint: FacilitatorEndpoint) => Promise<Support>,
  bound: Readonly<Record<string, unknown>> = {},
): AsyncGenerator<FacilitatorEndpoint> {
  const isBound = Object.keys(bound).length > 0;
  for (const endpoint of endpoints) {
    if (endpoint.networks !== "any" && endpoint.networks !== "supported") {
      if (!networkMatches(endpoint.networks, kind.network)) continue;
      if (!isBound) {
        yield endpoint;
        continue;
      }
    } else if (endpoint.networks === "any" && !isBound) {
      yield endpoint;
      continue;
    }
    const support = await supportOf(endpoint);
    if (!support.known) {
      // An unlisted facilitator stays in line, unless the payment can only be completed by one
      // whose listing proves it holds the bound values.
      if (!isBound) yield endpoint;
      continue;
    }
    const listed = support.kinds.find((k) => sameKind(k, kind) && holds(k, bound));
    if (listed) yield endpoint;
  }
}

/** The `extra` of the first facilitator, in order, that lists `kind` with every key in `keys`. */
export async function listedExtra(
  endpoints: readonly FacilitatorEndpoint[],
  kind: PaymentKind,
  keys: readonly string[],
  supportOf: (endpoint: FacilitatorEndpoint) => Promise<Support>,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  for (const endpoint of endpoints) {
    if (Array.isArray(endpoint.networks) && !networkMatches(endpoint.networks, kind.network)) {
      continue;
    }
    const support = await supportOf(endpoint);
    if (!support.known) continue;
    const listed = support.kinds.find(
      (k) => sameKind(k, kind) && keys.every((key) => typeof k.extra?.[key] === "string"),
    );
    if (listed?.extra) return listed.extra;
  }
  return undefined;
}

function holds(kind: SupportedKind, bound: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(bound).every(([key, value]) => sameValue(kind.extra?.[key], value));
}

/** Addresses compare without regard to letter case when they are 0x hex (EVM). */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  return a.startsWith("0x") ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** True when `network` is one of `allowed` (exact CAIP-2 id or `<namespace>:*`). */
export function networkMatches(allowed: readonly string[], network: string): boolean {
  const namespace = network.split(":")[0];
  return allowed.some((entry) => entry === network || entry === `${namespace}:*`);
}

function sameKind(a: PaymentKind, b: PaymentKind): boolean {
  return a.x402Version === b.x402Version && a.scheme === b.scheme && a.network === b.network;
}

/** Reads the kinds out of a `/supported` answer; undefined when it is not one. */
export function parseSupported(body: unknown): SupportedKind[] | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const kinds = (body as { kinds?: unknown }).kinds;
  if (!Array.isArray(kinds)) return undefined;
  const parsed: SupportedKind[] = [];
  for (const kind of kinds) {
    if (typeof kind !== "object" || kind === null) continue;
    const { x402Version, scheme, network, extra } = kind as Record<string, unknown>;
    if (
      typeof x402Version === "number" &&
      typeof scheme === "string" &&
      typeof network === "string"
    ) {
      const listed: SupportedKind = { x402Version, scheme, network };
      if (isRecord(extra)) listed.extra = extra;
      parsed.push(listed);
    }
  }
  return parsed;
}

/** The kind a facilitator request is for: version, and the scheme and network of its requirements. */
export function kindOf(request: {
  x402Version: number;
  paymentRequirements: unknown;
}): PaymentKind {
  const requirements = (request.paymentRequirements ?? {}) as Record<string, unknown>;
  return {
    x402Version: request.x402Version,
    scheme: typeof requirements["scheme"] === "string" ? requirements["scheme"] : "",
    network: typeof requirements["network"] === "string" ? requirements["network"] : "",
  };
}
