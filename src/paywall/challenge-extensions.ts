import { BAZAAR, bazaarExtension } from "../discovery";
import { PAYMENT_IDENTIFIER, paymentIdentifierDeclaration } from "../idempotency";
import type { Offer } from "../pricing";
import { extensionMembers } from "../x402";

/**
 * The `extensions` of a route's 402 (x402 V2 spec §5.1.2), as the members of its JSON object
 * (src/x402/required-template.ts): `payment-identifier` and `bazaar` are the same on every 402
 * of a rule and method, so their text is built once per compiled offer; only sign-in-with-x's
 * challenge (a fresh nonce) is serialised per request.
 *
 * Each extension keeps what someone reads. The spec requires `info` and `schema` in every
 * extension: `info` is what clients act on (@x402/fetch's sign-in hook signs `info` on one of
 * `supportedChains`; a payment-identifier client reads `info.required`; facilitators catalogue
 * bazaar's `info`), and `schema` is what `info` is checked against (the bazaar validator of
 * `@x402/extensions` compiles it with Ajv and drops a resource whose extension has none). The
 * schemas' `$schema` URL is left out: it names JSON Schema draft 2020-12, the draft every reader
 * assumes already (`@x402/extensions` validates with `ajv/dist/2020`, whose default meta-schema it
 * is, and the spec names no other), and it was a tenth of every 402's header.
 */

/** An extension as declared: `info`, the `schema` it follows, and what else it states. */
interface Declared {
  schema?: unknown;
  [member: string]: unknown;
}

/** By compiled offer, then by request method: the text of the extensions built once. */
const built = new WeakMap<Offer, Map<string, string>>();

/** The extensions every 402 of `offer` for a request with `method` declares (see above). */
export function routeExtensions(offer: Offer, method: string): string {
  let byMethod = built.get(offer);
  if (!byMethod) {
    byMethod = new Map();
    built.set(offer, byMethod);
  }
  let members = byMethod.get(method);
  if (members === undefined) {
    const bazaar = bazaarExtension(offer, method);
    members = extensionMembers({
      [PAYMENT_IDENTIFIER]: lean(paymentIdentifierDeclaration(offer.paymentIdRequired === true)),
      ...(bazaar && { [BAZAAR]: lean(bazaar) }),
    });
    byMethod.set(method, members);
  }
  return members;
}

/**
 * One extension made for this request, as an `extensions` member, trimmed as the others; its
 * schema (the same object on every request) is serialised once.
 */
export function requestExtension(key: string, extension: Declared): string {
  const { schema } = extension;
  const keys = Object.keys(extension);
  if (!isSchema(schema) || keys[keys.length - 1] !== "schema") {
    return extensionMembers({ [key]: lean(extension) });
  }
  // `schema` is the last member, so the rest serialises as before it, then its cached text.
  const rest = JSON.stringify({ ...extension, schema: undefined }).slice(0, -1);
  const separator = rest.length > 1 ? "," : "";
  return `${JSON.stringify(key)}:${rest}${separator}"schema":${leanSchemaJson(schema)}}`;
}

type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The extension with its schema's `$schema` left out (see above). */
function lean<T extends Declared>(extension: T): T {
  const { schema } = extension;
  if (!isSchema(schema) || !("$schema" in schema)) return extension;
  return { ...extension, schema: leanSchema(schema) };
}

function leanSchema(schema: Schema): Schema {
  const rest = { ...schema };
  delete rest["$schema"];
  return rest;
}

/** The text of each schema object met per request, trimmed. */
const schemaTexts = new WeakMap<Schema, string>();

function leanSchemaJson(schema: Schema): string {
  let text = schemaTexts.get(schema);
  if (text === undefined) {
    text = JSON.stringify(leanSchema(schema));
    schemaTexts.set(schema, text);
  }
  return text;
}
