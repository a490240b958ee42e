export { forwardToOrigin, STRIPPED_REQUEST_HEADERS } from "./origin";
export type { ForwardInput, OriginOptions, OriginResult } from "./origin";
