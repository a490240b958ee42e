export { ReceiptsLedger, recordReceipt, writeReceipts, LEDGER_WRITE_TIMEOUT_MS } from "./ledger";
export type { RecordOutcome, ReceiptToRecord } from "./ledger";
export { CREDIT_RULE } from "./d1-ledger";
export type {
  Bucket,
  PaidRow,
  PaidStep,
  ReceiptQuery,
  RevenueSummary,
  StoredReceipt,
} from "./d1-ledger";
export { parseReceipt, receiptOf } from "./receipt";
export type { Receipt, SettledPayment } from "./receipt";
export { receiptsCsv } from "./csv";
export { PendingPayments } from "./pending";
export type { PendingPayment } from "./pending";
