/** Bench target "peer": the official `@x402/hono` middleware, no extensions. */
import { createPeerApp } from "./peer-app.ts";

export default createPeerApp();
