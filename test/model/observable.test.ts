import { createServer } from "node:http";
import { afterEach, expect, it } from "vitest";
import { listenLoopback } from "../../dev/http.ts";
import type { Listening } from "../../dev/http.ts";
import { probeObservable } from "./observable.ts";
import { startScriptedOrigin } from "./origin.ts";
import type { ScriptedOrigin } from "./origin.ts";
import type { Harness } from "./sequence.ts";

/**
 * The probe the model uses to tell what a runtime passes on of a client that goes away, against
 * two stand-ins for the Worker's runtime (plain Node proxies to the scripted origin): one that
 * cancels the origin request when its client leaves, one that never notices.
 */

const running: Array<Listening | ScriptedOrigin> = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function runtime(passesDisconnects: boolean): Promise<Harness> {
  const origin = await startScriptedOrigin();
  const proxy = await listenLoopback(
    createServer((req, res) => {
      const upstream = new AbortController();
      if (passesDisconnects) res.on("close", () => upstream.abort());
      fetch(`${origin.url}${req.url ?? "/"}`, { signal: upstream.signal })
        .then(async (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          const body = (answer.body ?? []) as unknown as AsyncIterable<Uint8Array>;
          for await (const chunk of body) if (!res.destroyed) res.write(chunk);
          res.end();
        })
        .catch(() => res.destroy());
    }),
  );
  running.push(proxy, origin);
  return { workerUrl: proxy.url, origin } as Partial<Harness> as Harness;
}

it("should find that a runtime which cancels the origin request on a disconnect observes it", async () => {
  expect(await probeObservable(await runtime(true))).toEqual({
    disconnectBeforeAnswer: true,
    disconnectMidStream: true,
  });
});

it("should find that a runtime which never notices a disconnect does not observe it", async () => {
  expect(await probeObservable(await runtime(false))).toEqual({
    disconnectBeforeAnswer: false,
    disconnectMidStream: false,
  });
});
