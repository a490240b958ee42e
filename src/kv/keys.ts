/**
 * Every key this Worker reads or writes in the `PRICES` KV namespace, in one place.
 * The README's "Storage layout" section documents each with an example record.
 */

/** The live price table (JSON, see src/pricing/schema.ts). Written by operators; read-only here. */
export const PRICE_TABLE_KEY = "price-table";
