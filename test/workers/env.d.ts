import type { Env as WorkerEnv } from "../../src/config";

declare global {
  namespace Cloudflare {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merges the Worker's Env into the test env
    interface Env extends WorkerEnv {}
  }
}
