import { paywallResponse } from "../browser";
import { base64Text } from "../encoding";
import { defaultUsdc } from "../pricing";
import type { Offer } from "../pricing";
import { PAYMENT_REQUIRED, requiredTemplate } from "../x402";
import type { PaymentRequired } from "@x402/core/types";

/**
 * Builds the 402 answer to an unpaid (or wrongly paid) request: the V2 `PAYMENT-REQUIRED` header
 * plus a V1-shaped JSON body, so x402 clients of both generations can pay (x402
 * specs/transports-v2/http.md), or a readable HTML page for browsers. Never cached (`Cache-Control:
 * no-store`).
 */

/** Headers a cross-origin browser client needs to read the payment headers. */
export const EXPOSED_HEADERS =
  "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-PAYMENT-RESPONSE, PAYMENT-SESSION, PAYMENT-SESSION-EXPIRES, PAYMENT-SESSION-REMAINING";

/** What a challenge says and to whom. */
export interface ChallengeInput {
  offer: Offer;
  resourceUrl: string;
  /** Why an attempted payment was refused; absent on a first, unpaid request. */
  error?: string | undefined;
  /** True when the client prefers HTML (a person in a browser). */
  html: boolean;
  /** Extra headers, such as a `PAYMENT-RESPONSE` describing a failed settlement. */
  headers?: Record<string, string> | undefined;
  /**
   * V2 extensions to declare, as the members of the `extensions` JSON object (`extensionMembers`
   * of src/x402), such as `sign-in-with-x` on session routes; most are built once per offer.
   */
  extensions?: string | undefined;
}

/**
 * Builds the 402 response for one request: the offer's prebuilt texts (src/x402
 * required-template.ts) with this request's URL, refusal and extensions spliced in.
 */
export function challengeResponse(input: ChallengeInput): Response {
  const { offer, resourceUrl, error } = input;
  const template = requiredTemplate(offer);
  const extensions = input.extensions ?? "";
  const headers = new Headers(input.headers);
  headers.set("Cache-Control", "no-store");
  headers.set("Vary", "Accept");
  headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
  if (input.html) {
    const json = template.json(resourceUrl, error, extensions);
    headers.set(PAYMENT_REQUIRED, base64Text(json));
    const usdc = defaultUsdc(offer.network);
    const isUsdc = usdc !== undefined && usdc.address.toLowerCase() === offer.asset.toLowerCase();
    const decimals = isUsdc ? usdc.decimals : undefined;
    return paywallResponse(
      {
        required: JSON.parse(json) as PaymentRequired,
        price: offer.display,
        decimals,
        session: offer.session,
        title: offer.title,
        brand: offer.brand,
      },
      headers,
    );
  }
  headers.set(PAYMENT_REQUIRED, template.header(resourceUrl, error, extensions));
  headers.set("Content-Type", "application/json");
  return new Response(template.bodyV1(resourceUrl, error), { status: 402, headers });
}

/**
 * True when the Accept header ranks `text/html` above `application/json` (RFC 9110 §12.5.1:
 * quality values first, then order); `*\/*` alone asks for neither, so JSON is sent.
 */
export function prefersHtml(accept: string | null): boolean {
  if (!accept) return false;
  let html = { q: 0, at: Infinity };
  let json = { q: 0, at: Infinity };
  accept.split(",").forEach((part, at) => {
    const [type = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) return;
    if (type === "text/html" && html.at === Infinity) html = { q, at };
    if (type === "application/json" && json.at === Infinity) json = { q, at };
  });
  if (html.q <= 0) return false;
  return html.q > json.q || (html.q === json.q && html.at < json.at);
}
