export { facilitatorExtraKeys, familyOf, knownNetworks, networkInfo, schemeFor } from "./registry";
export { UPTO_PROXY } from "./upto-evm";
export { fields, isRecord } from "./types";
export type {
  ChainFamily,
  NetworkInfo,
  OfferedTerms,
  PayerIdentity,
  SchemeModule,
  TokenInfo,
} from "./types";
