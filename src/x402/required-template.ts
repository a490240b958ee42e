import { base64Text } from "../encoding";
import type { Offer } from "../pricing";
import { PAYMENT_NEEDED, paymentRequiredV1, paymentRequiredV2 } from "./payment-required";

/**
 * A 402's text built once per offer, with each request's own parts spliced in: the resource URL,
 * the refusal, the extensions decided per request. The JSON is byte for byte what
 * `JSON.stringify` makes of `paymentRequiredV2` / `paymentRequiredV1` (payment-required.ts) for the
 * same values, so a client sees no difference; what changes is that the offer's requirements,
 * description and V1 skeleton are serialised once instead of on every 402. Templates are cached
 * by the offer object: a compiled table's offers live as long as that table version, so a new
 * version (another price or payee) gets new templates, and an offer made for one request (a
 * dynamic or quoted price) gets its own.
 */

/** The 402 texts of one offer. */
export interface RequiredTemplate {
  /**
   * The V2 `PaymentRequired` JSON; `extensions` are the members of its `extensions` object
   * (`"key":{…},"key":{…}`, see {@link extensionMembers}), "" for none.
   */
  json(resourceUrl: string, error: string | undefined, extensions: string): string;
  /** The `PAYMENT-REQUIRED` header value: base64 of that JSON's UTF-8 bytes. */
  header(resourceUrl: string, error: string | undefined, extensions: string): string;
  /** The V1 JSON body (`paymentRequiredV1`). */
  bodyV1(resourceUrl: string, error: string | undefined): string;
}

const templates = new WeakMap<Offer, RequiredTemplate>();

/** The template of `offer`, built on its first 402 and kept as long as the offer lives. */
export function requiredTemplate(offer: Offer): RequiredTemplate {
  let template = templates.get(offer);
  if (!template) {
    template = buildTemplate(offer);
    templates.set(offer, template);
  }
  return template;
}

/** `extensions` as the members of a JSON object, for {@link RequiredTemplate.json}. */
export function extensionMembers(extensions: Readonly<Record<string, unknown>>): string {
  return Object.entries(extensions)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`)
    .join(",");
}

/**
 * Stands for the resource URL while the texts are built. JSON escapes its NULs, so an offer's
 * strings could spell it only on purpose; an offer that does is served without a template.
 */
const URL_SLOT = "\u0000resource-url\u0000";
const URL_SLOT_JSON = JSON.stringify(URL_SLOT);
const NEEDED_JSON = JSON.stringify(PAYMENT_NEEDED);

function buildTemplate(offer: Offer): RequiredTemplate {
  // Serialised with the slot for the URL, then cut there: the same bytes as the whole object
  // serialised with the real URL, since JSON.stringify escapes each string on its own.
  const v2 = unclosed(JSON.stringify(paymentRequiredV2(offer, URL_SLOT))).split(URL_SLOT_JSON);
  const v1 = JSON.stringify(paymentRequiredV1(offer, URL_SLOT));
  const errorAt = v1.indexOf(NEEDED_JSON);
  const v1Head = v1.slice(0, errorAt);
  const v1Parts = v1.slice(errorAt + NEEDED_JSON.length).split(URL_SLOT_JSON);
  const slotsV1 = paymentRequiredV1(offer, "").accepts.length;
  if (v2.length !== 2 || v1Parts.length !== slotsV1 + 1) return unsplicedTemplate(offer);
  const [v2Head, v2Tail] = v2 as [string, string];
  const json = (resourceUrl: string, error: string | undefined, extensions: string) =>
    close(`${v2Head}${JSON.stringify(resourceUrl)}${v2Tail}`, error, extensions);
  return {
    json,
    header: (resourceUrl, error, extensions) => base64Text(json(resourceUrl, error, extensions)),
    bodyV1: (resourceUrl, error) =>
      v1Head +
      (error === undefined ? NEEDED_JSON : JSON.stringify(error)) +
      v1Parts.join(JSON.stringify(resourceUrl)),
  };
}

/** The same texts serialised whole on every request. */
function unsplicedTemplate(offer: Offer): RequiredTemplate {
  const json = (resourceUrl: string, error: string | undefined, extensions: string) =>
    close(unclosed(JSON.stringify(paymentRequiredV2(offer, resourceUrl))), error, extensions);
  return {
    json,
    header: (resourceUrl, error, extensions) => base64Text(json(resourceUrl, error, extensions)),
    bodyV1: (resourceUrl, error) => JSON.stringify(paymentRequiredV1(offer, resourceUrl, error)),
  };
}

/** A V2 object's JSON (always `{…}`) without its closing brace: more members follow. */
function unclosed(json: string): string {
  return json.slice(0, -1);
}

/** Adds what `paymentRequiredV2` adds after `accepts`, in its order, and closes the object. */
function close(open: string, error: string | undefined, extensions: string): string {
  return (
    open +
    (error ? `,"error":${JSON.stringify(error)}` : "") +
    (extensions ? `,"extensions":{${extensions}}}` : "}")
  );
}
