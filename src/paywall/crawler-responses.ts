import { CRAWLER_ERROR, CRAWLER_ERRORS, CRAWLER_PRICE, formatCrawlerPrice } from "../crawlers";
import type { CrawlerErrorCode } from "../crawlers";
import { challengeResponse, prefersHtml } from "./challenge-response";
import type { Offer } from "../pricing";

/**
 * The pay-per-crawl answers (docs/pay-per-crawl.md): a `crawler-error` with Cloudflare's code and
 * status and a JSON reason; a 402 that quotes `crawler-price` beside the x402 offer; and the
 * origin's answer with headers added, streamed as it came.
 */

/** A refusal with `crawler-error: <code>`; `status` overrides the code's usual one. */
export function crawlerErrorResponse(
  code: CrawlerErrorCode,
  message: string,
  options: { status?: number; headers?: Record<string, string> } = {},
): Response {
  const headers = new Headers(options.headers);
  headers.set(CRAWLER_ERROR, code);
  headers.set("Content-Type", "application/json");
  headers.set("Cache-Control", "no-store");
  return new Response(JSON.stringify({ error: code, message }), {
    status: options.status ?? CRAWLER_ERRORS[code],
    headers,
  });
}

/** The `crawler-price` header quoting an offer. */
export function priceHeader(offer: Offer): Record<string, string> {
  return { [CRAWLER_PRICE]: formatCrawlerPrice(offer.amount) };
}

/** A 402 for a crawler: the x402 offer at the crawler's price, quoted in `crawler-price`. */
export function crawlerChallenge(
  request: Request,
  offer: Offer,
  resourceUrl: string,
  error?: string,
): Response {
  const html = prefersHtml(request.headers.get("Accept"));
  return challengeResponse({ offer, resourceUrl, error, html, headers: priceHeader(offer) });
}

/** The same response with `headers` set; the body is passed through, never buffered. */
export function withHeaders(response: Response, headers: Record<string, string>): Response {
  const merged = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) merged.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: merged,
  });
}
