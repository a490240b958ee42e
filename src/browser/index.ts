/**
 * The paywall page for people in browsers: markup, escaping and CSP; its wallet script is
 * static/paywall.js.
 */
export { paywallResponse } from "./page";
export type { PaywallPageInput } from "./page";
export { durationText } from "./text";
