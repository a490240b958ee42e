export { PRICE_TABLE_KEY, RECEIPT_PENDING_PREFIX } from "./keys";
export { PriceTableStore } from "./price-table-store";
export type { StoreOptions, TableSource, TableState } from "./price-table-store";
export { checkPriceTable, checkPriceTableValue } from "./check-table";
export type { TableCheck } from "./check-table";
export { PriceHistory } from "./price-history";
export type { PushResult, RevisionMeta, RollbackResult, StoredTable } from "./price-history";
