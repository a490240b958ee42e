import "vitest";

declare module "vitest" {
  /** Values the integration tests' global setup hands to the tests (see global-setup.ts). */
  export interface ProvidedContext {
    originUrl: string;
    facilitatorUrl: string;
    /** Base URL of the fake facilitator; append a mode (see test/support/fakes.ts). */
    facilitatorBase: string;
    /** A second fake origin the Worker is never configured with (bypass tests count its hits). */
    decoyUrl: string;
    /** A loopback URL where nothing listens. */
    deadUrl: string;
    /** `VERIFY_BESIDE_SEED`, to replay verify-beside-attacks.test.ts; empty when unset. */
    verifyBesideSeed: string;
  }
}
