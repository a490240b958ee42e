/**
 * Which facilitators may handle a payment, in the operator's order of preference (X402.md §4):
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

/** A facilitator's `/supported` kinds, as far as we know them. */
export type Support = { known: true; kinds: readonly PaymentKind[] } | { known: false };

/** How long a `/supported` listing is trusted. */
export const SUPPORTED_TTL_MS = 10 * 60_000;

/**
 * The endpoints that may handle `kind`, in order, found lazily: a `/supported` listing is only
 * asked for when the facilitators before it did not settle the matter.
 */
export async function* candidatesFor(
  endpoints: readonly FacilitatorEndpoint[],
  kind: PaymentKind,
  supportOf: (endpoint: FacilitatorEndpoint) => Promise<Support>,
): AsyncGenerator<FacilitatorEndpoint> {
  for (const endpoint of endpoints) {
    if (endpoint.networks === "any") {
      yield endpoint;
    } else if (endpoint.networks !== "supported") {
      if (networkMatches(endpoint.networks, kind.network)) yield endpoint;
    } else {
      const support = await supportOf(endpoint);
      if (!support.known || support.kinds.some((k) => sameKind(k, kind))) yield endpoint;
    }
  }
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
export function parseSupported(body: unknown): PaymentKind[] | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const kinds = (body as { kinds?: unknown }).kinds;
  if (!Array.isArray(kinds)) return undefined;
  const parsed: PaymentKind[] = [];
  for (const kind of kinds) {
    if (typeof kind !== "object" || kind === null) continue;
    const { x402Version, scheme, network } = kind as Record<string, unknown>;
    if (
      typeof x402Version === "number" &&
      typeof scheme === "string" &&
      typeof network === "string"
    ) {
      parsed.push({ x402Version, scheme, network });
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
