export {
  facilitatorExtraKeys,
  familyOf,
  knownNetworks,
  networkInfo,
  registered,
  schemeFor,
} from "./registry";
export { UPTO_PROXY } from "./upto-evm";
export { decodeTransaction } from "./solana-tx";
export type {
  ChainFamily,
  NetworkInfo,
  OfferedTerms,
  PayerIdentity,
  SchemeModule,
  TokenInfo,
} from "./types";
