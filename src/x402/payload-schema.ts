import * as z from "../zod";

/**
 * The shape of a payment payload, V2 and V1: `@x402/core/schemas`' `PaymentPayloadV2Schema` and
 * `PaymentPayloadV1Schema` (2.27.0) field for field, in Zod Mini (objects strip unknown keys,
 * absent resource fields come out `undefined`, as there). What passes is typed as the SDK's
 * `PaymentPayload` / `PaymentPayloadV1`, as the SDK types its own parse, and the header is still
 * decoded with the SDK's `safeBase64Decode`. test/unit/x402/payload-schema.test.ts holds both to
 * the SDK's schemas.
 *
 * Why not the SDK's schemas: they are written against zod's classic API, which cannot be tree
 * shaken and would be the only thing keeping it in the Worker. Measured on the Worker bundle
 * (wrangler's minified `worker.js`, gzip -6): the rest of the Worker on Zod Mini plus the SDK's
 * schemas is 126,482 bytes; with these schemas instead it is 111,488 bytes, 14,994 bytes less, of a
 * budget of 102,400 (100 KiB) for the whole Worker. When the SDK ships Zod Mini (or zod 4)
 * schemas, import them again.
 */

const nonEmpty = z.string().check(z.minLength(1));
const record = z.record(z.string(), z.unknown());
const optionalRecord = z.optional(z.nullable(record));
const printable = z.string().check(z.minLength(1), z.maxLength(32), z.regex(/^[\x20-\x7e]+$/));

/** `nullish` in, `undefined` out, as the SDK's `.nullish().transform((v) => v ?? undefined)`. */
function absentAsUndefined<T extends z.core.$ZodType>(schema: T) {
  // Optional outermost, so an absent key stays absent; only a null becomes an undefined value.
  return z.optional(
    z.pipe(
      z.nullable(schema),
      z.transform((value: z.infer<T> | null) => value ?? undefined),
    ),
  );
}

const ResourceInfoSchema = z.object({
  url: nonEmpty,
  description: absentAsUndefined(z.string()),
  mimeType: absentAsUndefined(z.string()),
  serviceName: absentAsUndefined(printable),
  tags: absentAsUndefined(z.array(printable).check(z.maxLength(5))),
  iconUrl: absentAsUndefined(z.string().check(z.maxLength(2048))),
});

const PaymentRequirementsV2Schema = z.object({
  scheme: nonEmpty,
  network: z.string().check(
    z.minLength(3),
    z.refine((v) => v.includes(":"), "Network must be in CAIP-2 format (e.g., 'eip155:84532')"),
  ),
  amount: nonEmpty,
  asset: nonEmpty,
  payTo: nonEmpty,
  maxTimeoutSeconds: z.number().check(z.positive()),
  extra: optionalRecord,
});

/** A V2 `PAYMENT-SIGNATURE` payload. */
export const PaymentPayloadV2Schema = z.object({
  x402Version: z.literal(2),
  resource: absentAsUndefined(ResourceInfoSchema),
  accepted: PaymentRequirementsV2Schema,
  payload: record,
  extensions: optionalRecord,
});

/** A V1 `X-PAYMENT` payload. */
export const PaymentPayloadV1Schema = z.object({
  x402Version: z.literal(1),
  scheme: nonEmpty,
  network: nonEmpty,
  payload: record,
});
