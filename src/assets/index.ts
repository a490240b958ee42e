/** The paywall's static files: their content-hashed paths, and serving them from `ASSETS`. */
export { STATIC_ASSETS } from "./manifest";
export { assetAt, serveAsset } from "./serve";
export type { StaticAsset } from "./serve";
