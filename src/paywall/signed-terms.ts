import { base64Decode, base64url } from "../encoding";
import type { Offer } from "../pricing";

/**
 * The paywall's signature on terms an origin quoted (`originPrice`, `payee: {from: "origin"}`),
 * carried in the 402's offer so that a paid request's terms are bound before the origin sees it, at
 * no origin call. x402 V2 clients copy the offer they accept verbatim into the payment (`accepted`,
 * x402 V2 spec §5.2), its `extra` included, so the signature comes back with the payment.
 *
 * `extra.signedQuote` is `<expiry, Unix seconds>.<base64url HMAC-SHA-256>`, keyed by the
 * paywall's secret, over the canonical terms: a label, the expiry, the request's method, the
 * resource URL, the rule, and the offer's scheme, network, asset, amount and payee, as a JSON
 * array (unambiguous whatever the fields hold). A signature binds those exact strings: another
 * amount, payee, resource, method or rule, a changed or made-up signature, all fail to verify.
 */

/** The `extra` key carrying the signature. */
export const SIGNED_QUOTE = "signedQuote";

/** How long a signed quote is good for at least; longer when the offer's timeout is. */
export const QUOTE_TTL_SECONDS = 300;

/** What a signature is bound to besides the terms: the request the terms were quoted for. */
export interface QuoteBinding {
  resourceUrl: string;
  method: string;
  /** The rule's stable name (src/pricing/rule-id.ts), e.g. "/api/*". */
  rule: string;
}

/** The offer fields a signature covers. */
export type QuotedTerms = Pick<Offer, "scheme" | "network" | "asset" | "amount" | "payTo">;

/** A carried signature, checked: valid for these terms, or why not (`expired`: genuine but old). */
export type SignatureCheck =
  { ok: true } | { ok: false; reason: "missing" | "invalid" | "expired"; message: string };

const FORMAT = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();
/**
 * Imported keys by secret; the keys are kept, never the import's promise (in workerd a request
 * must not await a promise another request created).
 */
const keys = new Map<string, CryptoKey>();

/** The `extra.signedQuote` value for `terms` quoted for `binding`, good until `expiresAt` (s). */
export async function quoteSignature(
  terms: QuotedTerms,
  binding: QuoteBinding,
  secret: string,
  expiresAt: number,
): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await keyFor(secret),
    message(terms, binding, expiresAt),
  );
  return `${expiresAt}.${base64url(new Uint8Array(mac))}`;
}

/** The offer with its terms signed for `binding` (any earlier signature replaced). */
export async function signTerms(
  offer: Offer,
  binding: QuoteBinding,
  secret: string,
  now = Date.now(),
): Promise<Offer> {
  const ttl = Math.max(offer.maxTimeoutSeconds, QUOTE_TTL_SECONDS);
  const expiresAt = Math.floor(now / 1000) + ttl;
  const signed = await quoteSignature(offer, binding, secret, expiresAt);
  return { ...offer, extra: { ...offer.extra, [SIGNED_QUOTE]: signed } };
}

/** Checks the signature a payment's `accepted` carries for its own terms and `binding`. */
export async function checkSignature(
  terms: QuotedTerms,
  carried: unknown,
  binding: QuoteBinding,
  secret: string,
  now = Date.now(),
): Promise<SignatureCheck> {
  if (carried === undefined) {
    return { ok: false, reason: "missing", message: "the payment carries no signed quote" };
  }
  const parts = typeof carried === "string" ? FORMAT.exec(carried) : null;
  const mac = parts?.[2] === undefined ? undefined : base64Decode(parts[2]);
  const expiresAt = Number(parts?.[1]);
  const valid =
    mac !== undefined &&
    (await crypto.subtle.verify(
      "HMAC",
      await keyFor(secret),
      mac,
      message(terms, binding, expiresAt),
    ));
  if (!valid) {
    return {
      ok: false,
      reason: "invalid",
      message: "the payment's terms carry no valid signature of this paywall for this request",
    };
  }
  if (expiresAt * 1000 <= now) {
    return { ok: false, reason: "expired", message: "the payment's signed quote has expired" };
  }
  return { ok: true };
}

function message(terms: QuotedTerms, binding: QuoteBinding, expiresAt: number): Uint8Array {
  const { scheme, network, asset, amount, payTo } = terms;
  const { method, resourceUrl, rule } = binding;
  return encoder.encode(
    JSON.stringify([
      "x402-origin-terms/1",
      expiresAt,
      method,
      resourceUrl,
      rule,
      scheme,
      network,
      asset,
      amount,
      payTo,
    ]),
  );
}

async function keyFor(secret: string): Promise<CryptoKey> {
  const known = keys.get(secret);
  if (known) return known;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  if (keys.size > 16) keys.clear();
  keys.set(secret, key);
  return key;
}
