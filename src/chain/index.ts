export { jsonRpc } from "./rpc";
export type { Rpc, RpcOptions, RpcResult } from "./rpc";
export {
  AUTHORIZATION_CANCELED_TOPIC,
  AUTHORIZATION_USED_TOPIC,
  DEFAULT_MAX_LOG_BLOCKS,
  TRANSFER_TOPIC,
} from "./facts";
export type { Proof, ProofOptions, TransferFacts } from "./facts";
export { proveTransfer } from "./proof";
export { chainProver, transferFacts } from "./prover";
export type { ChainProver, FactsOf, ProverOptions } from "./prover";
export { chainRpcUrls } from "./endpoints";
export type { ChainRpc } from "./endpoints";
export { PERMIT2 } from "./permit2-proof";
