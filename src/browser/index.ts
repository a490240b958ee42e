/** The paywall page for people in browsers: markup, escaping, CSP and the wallet script. */
export { paywallResponse } from "./page";
export type { PaywallPageInput } from "./page";
export { durationText } from "./text";
