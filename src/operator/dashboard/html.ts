/**
 * Tiny HTML helpers for the dashboard: every value that reaches the page goes through `escape`,
 * so a payer, path or crawler name can never inject markup.
 */

/** Escapes text for HTML element content and quoted attribute values. */
export function escape(value: string | number | bigint | null | undefined): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** USDC atomic units (6 decimals) as dollars, "$0.012"; zero is "$0". */
export function dollars(atomic: bigint): string {
  const text = atomic.toString().padStart(7, "0");
  const fraction = text.slice(-6).replace(/0+$/, "");
  return `$${text.slice(0, -6)}${fraction ? `.${fraction}` : ""}`;
}

/** "0x7099…79c8" */
export function shortHex(value: string): string {
  return value.length > 14 ? `${value.slice(0, 6)}…${value.slice(-4)}` : value;
}

/** An ISO time without milliseconds, "2026-11-21 10:04:05Z". */
export function when(time: number): string {
  return new Date(time)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}
