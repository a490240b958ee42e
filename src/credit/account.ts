/**
 * What a crawl credit balance is worth: money paid to one payee, in one asset, on one network.
 * A balance bought with a payment to `payTo` pays only for pages whose price is owed to that same
 * payee in that same asset on that same network; a page owed to another tenant (a payee map),
 * to a payee the origin names, or priced on another network or asset, is paid for on its own.
 */

/** The terms a balance was bought on. */
export interface CreditAccountTerms {
  network: string;
  asset: string;
  payTo: string;
}

/**
 * The account name of `terms`: `network|asset|payTo`, the addresses folded to lower case (credit
 * is sold on EVM networks only, whose addresses are case-insensitive).
 */
export function creditAccount(terms: CreditAccountTerms): string {
  return `${terms.network}|${terms.asset.toLowerCase()}|${terms.payTo.toLowerCase()}`;
}

/**
 * Whether credit bought on `credit`'s terms may pay for a page offered on `page`'s: the same
 * network, asset and payee. A payee still to be named by the origin (`payTo` "") never matches.
 */
export function creditPays(credit: CreditAccountTerms, page: CreditAccountTerms): boolean {
  return page.payTo !== "" && creditAccount(credit) === creditAccount(page);
}
