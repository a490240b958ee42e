export { forwardToOrigin } from "./origin";
export type { ForwardInput, OriginOptions, OriginResult } from "./origin";
