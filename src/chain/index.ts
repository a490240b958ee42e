export { jsonRpc } from "./rpc";
export type { Rpc, RpcResult } from "./rpc";
export {
  AUTHORIZATION_CANCELED_TOPIC,
  AUTHORIZATION_USED_TOPIC,
  TRANSFER_TOPIC,
  proveTransfer,
} from "./proof";
export type { Proof, TransferFacts } from "./proof";
export { chainProver, transferFacts } from "./prover";
export type { ChainProver, FactsOf } from "./prover";
export { chainRpcUrls } from "./endpoints";
