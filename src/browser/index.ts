/**
 * The paywall page for people in browsers: markup, escaping and CSP; its wallet script is
 * static/paywall.js. The escaping, data block and nonce serve the operator's dashboard too.
 */
export { newNonce, paywallResponse } from "./page";
export type { PaywallPageInput } from "./page";
export { durationText, embedJson, escapeHtml } from "./text";
