export { BAZAAR, bazaarExtension } from "./bazaar";
export {
  DISCOVERY_PATH,
  EVERY_METHOD,
  LLMS_PATH,
  ORIGIN_PAYEE,
  discoveryDocument,
  llmsText,
} from "./document";
export type { DiscoveredResource } from "./document";
