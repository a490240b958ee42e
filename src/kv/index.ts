export { PRICE_TABLE_KEY } from "./keys";
export { PriceTableStore } from "./price-table-store";
export type { StoreOptions, TableSource, TableState } from "./price-table-store";
