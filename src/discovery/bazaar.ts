import type { DiscoveryConfig, Offer } from "../pricing";

/**
 * The `bazaar` extension of a 402 (x402 specs/extensions/bazaar.md): how to call the resource
 * (method, example query or body, their JSON Schema) and what it answers, so facilitators can list
 * it and agents can call it right the first time. The shape is the one `declareDiscoveryExtension`
 * of `@x402/extensions` declares, enriched with the request's method; its Ajv-based builder and
 * validator stay out of the Worker (the tests check our output with them). Built once per offer and
 * method.
 */

/** The `extensions` key of the discovery extension. */
export const BAZAAR = "bazaar";

const QUERY_METHODS = ["GET", "HEAD", "DELETE"] as const;
const BODY_METHODS = ["POST", "PUT", "PATCH"] as const;

type Extension = { info: Record<string, unknown>; schema: Record<string, unknown> };
/** Rules without a `discovery` section share this key. */
const NO_DISCOVERY: DiscoveryConfig = {};
// Keyed by the rule's discovery terms, which per-request copies of an offer (dynamic prices,
// facilitator-completed extras) keep: built once per rule, method and media type.
const built = new WeakMap<DiscoveryConfig, Map<string, Extension | null>>();

/** The extension for a request with `method` on `offer`; undefined for other methods. */
export function bazaarExtension(offer: Offer, method: string): Extension | undefined {
  const config = offer.discovery ?? NO_DISCOVERY;
  let byMethod = built.get(config);
  if (!byMethod) {
    byMethod = new Map();
    built.set(config, byMethod);
  }
  const key = `${method} ${offer.mimeType}`;
  const known = byMethod.get(key);
  if (known !== undefined) return known ?? undefined;
  const extension = build(config, method, offer.mimeType);
  byMethod.set(key, extension ?? null);
  return extension;
}

function build(config: DiscoveryConfig, method: string, mimeType: string): Extension | undefined {
  const isQuery = (QUERY_METHODS as readonly string[]).includes(method);
  const isBody = (BODY_METHODS as readonly string[]).includes(method);
  if (!isQuery && !isBody) return undefined;

  const input: Record<string, unknown> = { type: "http", method };
  const inputProperties: Record<string, unknown> = {
    type: { type: "string", const: "http" },
    method: { type: "string", enum: isQuery ? [...QUERY_METHODS] : [...BODY_METHODS] },
  };
  const required = ["type", "method"];
  const paramsSchema = { type: "object", ...(config.inputSchema ?? {}) };
  if (isQuery) {
    if (config.input) input["queryParams"] = config.input;
    if (config.input || config.inputSchema) inputProperties["queryParams"] = paramsSchema;
  } else {
    input["bodyType"] = config.bodyType ?? "json";
    input["body"] = config.input ?? {};
    inputProperties["bodyType"] = { type: "string", enum: ["json", "form-data", "text"] };
    inputProperties["body"] = config.inputSchema ?? { properties: {} };
    required.push("bodyType", "body");
  }
  if (config.pathParams) {
    input["pathParams"] = config.pathParams;
    inputProperties["pathParams"] = { type: "object" };
  }

  const info: Record<string, unknown> = { input };
  const properties: Record<string, unknown> = {
    input: { type: "object", properties: inputProperties, required, additionalProperties: false },
  };
  if (config.output) {
    const type = /json/i.test(mimeType) || mimeType === "" ? "json" : mimeType;
    info["output"] = {
      type,
      ...(config.output.example !== undefined && { example: config.output.example }),
    };
    properties["output"] = {
      type: "object",
      properties: {
        type: { type: "string" },
        example: config.output.schema ?? { type: exampleType(config.output.example) },
      },
      required: ["type"],
    };
  }
  return {
    info,
    schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties,
      required: ["input"],
    },
  };
}

function exampleType(example: unknown): string {
  if (Array.isArray(example)) return "array";
  if (example === null) return "null";
  if (typeof example === "object") return "object";
  if (typeof example === "number") return "number";
  if (typeof example === "boolean") return "boolean";
  return "string";
}
