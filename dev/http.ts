/**
 * The one loopback listener the dev servers, the bench and the test fakes share: binds a
 * `node:http` server to 127.0.0.1 and hands back its URL and an idempotent `stop`.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A server listening on 127.0.0.1. */
export interface Listening {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Closes every connection and the listener; later calls return the same promise. */
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 picks a free port); rejects if the listen fails. */
export async function listenLoopback(server: Server, port = 0): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
