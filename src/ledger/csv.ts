import type { StoredReceipt } from "./d1-ledger";

/**
 * Receipts as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote or line
 * break), one row per receipt, time in ISO 8601 UTC, amounts in atomic units.
 */

const COLUMNS = [
  "id",
  "time",
  "host",
  "path",
  "rule",
  "payer",
  "payTo",
  "amount",
  "asset",
  "network",
  "transaction",
  "nonce",
  "crawler",
  "crawlerKey",
  "session",
  "x402Version",
] as const;

/** The CSV text of `receipts`, header line first. */
export function receiptsCsv(receipts: readonly StoredReceipt[]): string {
  const lines = [COLUMNS.join(",")];
  for (const receipt of receipts) {
    lines.push(
      COLUMNS.map((column) =>
        field(column === "time" ? new Date(receipt.time).toISOString() : (receipt[column] ?? null)),
      ).join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

function field(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  // A leading =, +, - or @ would be read as a formula by spreadsheets: quote it with a '.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
