/**
 * Bench target "peer + SIWx": the official middleware with the official sign-in-with-x extension,
 * so a payer who already paid signs in instead of paying again (its payments are remembered in
 * the isolate, as the extension's `InMemorySIWxStorage` does).
 */
import {
  InMemorySIWxStorage,
  createSIWxResourceServerExtension,
  declareSIWxExtension,
} from "@x402/extensions/sign-in-with-x";
import { createPeerApp } from "./peer-app.ts";

const storage = new InMemorySIWxStorage();

export default createPeerApp({
  setup(server, origin) {
    server.registerExtension(createSIWxResourceServerExtension({ storage, origin }));
  },
  routeExtensions: () => declareSIWxExtension({ statement: "Sign in to access what you paid for" }),
});
