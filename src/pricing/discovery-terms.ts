import * as z from "../zod";

/**
 * A rule's `discovery` block: how to call the resource and what it returns, so agents can find and
 * use it before paying. It follows the bazaar extension's declaration (x402
 * specs/extensions/bazaar.md), the same fields as `declareDiscoveryExtension` of
 * `@x402/extensions`: example `input` (query parameters, or the body with `bodyType` for
 * POST/PUT/PATCH), its JSON Schema `inputSchema`, and an `output` example and schema.
 */

const json = z.record(z.string(), z.unknown());

export const DiscoverySchema = z
  .strictObject({
    /** Example query parameters (GET, HEAD, DELETE) or body (POST, PUT, PATCH). */
    input: z.optional(json),
    /** JSON Schema of `input`: `{ properties, required }`. */
    inputSchema: z.optional(json),
    /** Example path parameters, for patterns with `:name` segments. */
    pathParams: z.optional(json),
    /** How the body is sent on POST, PUT and PATCH. */
    bodyType: z.optional(z.enum(["json", "form-data", "text"])),
    output: z.optional(
      z.strictObject({ example: z.optional(z.unknown()), schema: z.optional(json) }),
    ),
  })
  .check(z.refine((d) => JSON.stringify(d).length <= 16_384, "must be at most 16 KiB of JSON"));

/** A rule's discovery block as written in the table. */
export type DiscoveryConfig = z.infer<typeof DiscoverySchema>;
