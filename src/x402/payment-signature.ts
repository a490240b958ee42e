import { safeBase64Decode } from "@x402/core/utils";
import type { PaymentPayload } from "@x402/core/types";
import type { PaymentPayloadV1 } from "@x402/core/types/v1";
import { parseBoundedJson } from "../bounded-json";
import type * as z from "../zod";
import { PaymentPayloadV1Schema, PaymentPayloadV2Schema } from "./payload-schema";

/**
 * Reads the payment a request carries: V2 `PAYMENT-SIGNATURE` or V1 `X-PAYMENT`, each base64 JSON
 * (x402 specs/transports-v2/http.md, transports-v1/http.md). Malformed input is an expected
 * outcome, returned with a reason a client developer can act on, never thrown. The JSON is read
 * with bounded depth and size (src/bounded-json.ts), so nothing downstream ever walks a value
 * nested thousands deep. The shape is checked against the SDK's payload schemas, restated in Zod
 * Mini (./payload-schema.ts says why).
 */

/** Header names of the two protocol generations. */
export const PAYMENT_SIGNATURE = "PAYMENT-SIGNATURE";
export const X_PAYMENT = "X-PAYMENT";

/** Payment headers larger than this are refused before decoding. */
export const MAX_PAYMENT_HEADER_BYTES = 16 * 1024;

/** The payment found on a request, if any. */
export type DecodedPayment =
  | { type: "none" }
  | { type: "invalid"; reason: string }
  | { type: "v2"; payload: PaymentPayload }
  | { type: "v1"; payload: PaymentPayloadV1 };

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes and shape-checks the payment header of a request. */
export function decodePayment(headers: Headers): DecodedPayment {
  const v2 = headers.get(PAYMENT_SIGNATURE);
  const v1 = headers.get(X_PAYMENT);
  if (v2 !== null && v1 !== null) {
    return {
      type: "invalid",
      reason: `send either ${PAYMENT_SIGNATURE} or ${X_PAYMENT}, not both`,
    };
  }
  const header = v2 ?? v1;
  if (header === null) return { type: "none" };
  const name = v2 !== null ? PAYMENT_SIGNATURE : X_PAYMENT;
  if (header.includes(",")) return { type: "invalid", reason: `${name} was sent more than once` };
  if (header.length > MAX_PAYMENT_HEADER_BYTES) {
    return { type: "invalid", reason: `${name} is larger than ${MAX_PAYMENT_HEADER_BYTES} bytes` };
  }
  const json = parseBase64Json(header.trim());
  if (!json.ok) return { type: "invalid", reason: `${name} ${json.reason}` };

  const version = (json.value as { x402Version?: unknown } | null)?.x402Version;
  if (v2 !== null) {
    if (version !== 2) return { type: "invalid", reason: `${name} must carry x402Version 2` };
    const parsed = PaymentPayloadV2Schema.safeParse(json.value);
    if (!parsed.success) return { type: "invalid", reason: `${name} ${describe(parsed.error)}` };
    return { type: "v2", payload: parsed.data as PaymentPayload };
  }
  if (version !== 1) return { type: "invalid", reason: `${name} must carry x402Version 1` };
  const parsed = PaymentPayloadV1Schema.safeParse(json.value);
  if (!parsed.success) return { type: "invalid", reason: `${name} ${describe(parsed.error)}` };
  return { type: "v1", payload: parsed.data as PaymentPayloadV1 };
}

function parseBase64Json(
  text: string,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (text === "" || !BASE64.test(text)) return { ok: false, reason: "is not base64" };
  let decoded: string;
  try {
    const standard = text.replace(/-/g, "+").replace(/_/g, "/");
    decoded = safeBase64Decode(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
  } catch {
    return { ok: false, reason: "is not valid base64" };
  }
  return parseBoundedJson(decoded);
}

function describe(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "has the wrong shape";
  const at = issue.path.length > 0 ? ` at ${issue.path.map(String).join(".")}` : "";
  return `has the wrong shape${at}: ${issue.message}`;
}
