import { z } from "zod";

/**
 * A rule's `discovery` block: how to call the resource and what it returns, so agents can find and
 * use it before paying. It follows the bazaar extension's declaration (x402
 * specs/extensions/bazaar.md), the same fields as `declareDiscoveryExtension` of
 * `@x402/extensions`: example `input` (query parameters, or the body with `bodyType` for
 * POST/PUT/PATCH), its JSON Schema `inputSchema`, and an `output` example and schema.
 */

const json = z.record(z.string(), z.unknown());

export const DiscoverySchema = z
  .object({
    /** Example query parameters (GET, HEAD, DELETE) or body (POST, PUT, PATCH). */
    input: json.optional(),
    /** JSON Schema of `input`: `{ properties, required }`. */
    inputSchema: json.optional(),
    /** Example path parameters, for patterns with `:name` segments. */
    pathParams: json.optional(),
    /** How the body is sent on POST, PUT and PATCH. */
    bodyType: z.enum(["json", "form-data", "text"]).optional(),
    output: z
      .object({ example: z.unknown().optional(), schema: json.optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((d) => JSON.stringify(d).length <= 16_384, "must be at most 16 KiB of JSON");

/** A rule's discovery block as written in the table. */
export type DiscoveryConfig = z.infer<typeof DiscoverySchema>;
