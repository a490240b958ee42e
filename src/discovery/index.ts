export { BAZAAR, bazaarExtension } from "./bazaar";
export { DISCOVERY_PATH, LLMS_PATH, discoveryDocument, llmsText } from "./document";
export type { DiscoveredResource } from "./document";
