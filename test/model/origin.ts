import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLoopback } from "../../dev/http.ts";
import type { Listening } from "../../dev/http.ts";

/**
 * The scripted origin of the model test, on 127.0.0.1: what it answers is named by the path's
 * second segment (`/<route>/<behaviour>/<id>`), so each request of a random sequence gets the
 * behaviour the sequence chose for it. Every answer that delivers content carries
 * `CONTENT_MARKER`; its own errors are JSON `{"origin": …}`, never the paywall's
 * `{"error", "message"}` shape, so the model can tell the two apart.
 *
 * It also notes which requests the paywall gave up before their answer was over (`leftEarly`):
 * that is how the model learns whether the runtime passes a client's disconnect on (run.ts).
 */

/** Present in every body (and the first SSE event) that delivers the origin's content. */
export const CONTENT_MARKER = "model-content";

/** What the origin does with one request. */
export const BEHAVIOURS = [
  "ok",
  "redirect",
  "notfound",
  "error",
  "reset",
  "resetsized",
  "slow",
  "hold",
  "usage",
  "nousage",
  "sse",
  "ssenone",
  "ssehold",
] as const;
/** One of `BEHAVIOURS`. */
export type Behaviour = (typeof BEHAVIOURS)[number];

/** Tokens a metered answer reports (header `x-usage-units` or the SSE `usage.total_tokens`). */
export const REPORTED_UNITS = 30;
/** How long `slow` takes to answer (ms). */
export const SLOW_MS = 700;
/** How often a held answer (`hold`, `ssehold`) sends a little more while it is held (ms). */
export const HELD_TICK_MS = 250;
/** How long a held answer is held at most before it ends (ms). */
export const HELD_MS = 10_000;

/** A running scripted origin. */
export interface ScriptedOrigin extends Listening {
  /** Requests seen, as `METHOD path`. */
  readonly seen: string[];
  /** Paths whose request was closed by its caller before the answer was over. */
  readonly leftEarly: Set<string>;
}

/** Starts the scripted origin on a free port. */
export async function startScriptedOrigin(): Promise<ScriptedOrigin> {
  const seen: string[] = [];
  const leftEarly = new Set<string>();
  const broken = new Set<string>();
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    seen.push(`${req.method ?? "GET"} ${req.url ?? "/"}`);
    open.add(res);
    res.on("close", () => {
      open.delete(res);
      if (!res.writableFinished && !broken.has(req.url ?? "")) leftEarly.add(req.url ?? "");
    });
    void answer(req, res, broken).catch(() => res.destroy());
  });
  const listening = await listenLoopback(server);
  return {
    ...listening,
    seen,
    leftEarly,
    stop: async () => {
      for (const res of open) res.destroy();
      await listening.stop();
    },
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  broken: Set<string>,
): Promise<void> {
  for await (const chunk of req) void chunk;
  const url = new URL(req.url ?? "/", "http://origin");
  const behaviour = (url.pathname.split("/")[2] ?? "ok") as Behaviour;
  const content = JSON.stringify({
    [CONTENT_MARKER]: true,
    path: url.pathname,
    method: req.method,
  });
  const json = { "Content-Type": "application/json" };
  const sse = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" };
  const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  switch (behaviour) {
    case "redirect":
      return void res.writeHead(302, { Location: `${url.pathname}/` }).end();
    case "notfound":
      return void res.writeHead(404, json).end(JSON.stringify({ origin: "not found" }));
    case "error":
      return void res.writeHead(500, json).end(JSON.stringify({ origin: "failed" }));
    case "reset":
    case "resetsized": {
      // Headers and part of the body, then the connection is reset: chunked (`reset`), or with
      // the whole body's Content-Length announced (`resetsized`). A passing fault: the same
      // path answers in full from then on (so a retry of the same request can get the content).
      if (broken.has(req.url ?? "")) return void res.writeHead(200, json).end(content);
      broken.add(req.url ?? "");
      const length = behaviour === "resetsized" && { "Content-Length": String(content.length) };
      res.writeHead(200, { ...json, ...length });
      res.write(content.slice(0, 5));
      await sleep(50);
      return void res.socket?.resetAndDestroy();
    }
    case "slow":
      await sleep(SLOW_MS);
      return void res.writeHead(200, json).end(content);
    case "hold":
      // The content starts, the rest is held (a little sent now and then) until the client
      // goes away or HELD_MS passed. Not a type the edge compresses (text/plain is: Miniflare
      // and wrangler dev gzip it, as Cloudflare does, and the gzip stream keeps the first part
      // until more comes or it ends, so the client would see nothing while it is held).
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.write(`${CONTENT_MARKER} first part|`);
      return held(res, () => ".");
    case "usage":
      return void res
        .writeHead(200, { ...json, "x-usage-units": String(REPORTED_UNITS) })
        .end(content);
    case "nousage":
      return void res.writeHead(200, json).end(content);
    case "sse":
    case "ssenone": {
      res.writeHead(200, sse);
      res.write(event({ text: CONTENT_MARKER }));
      const usage = behaviour === "sse" ? { usage: { total_tokens: REPORTED_UNITS } } : {};
      return void res.end(`${event({ text: "end", ...usage })}data: [DONE]\n\n`);
    }
    case "ssehold":
      // A stream that reports no usage and is held, with an SSE comment now and then (as
      // streaming APIs keep a connection alive): a runtime learns that a client left a stream
      // only when it writes to it (observable.ts).
      res.writeHead(200, sse);
      res.write(event({ text: CONTENT_MARKER }));
      return held(res, () => ": keep-alive\n\n");
    default:
      return void res.writeHead(200, json).end(content);
  }
}

/** Sends `more()` every HELD_TICK_MS until the caller goes away, then ends after HELD_MS. */
async function held(res: ServerResponse, more: () => string): Promise<void> {
  const until = Date.now() + HELD_MS;
  while (!res.destroyed && Date.now() < until) {
    await sleep(HELD_TICK_MS);
    if (!res.destroyed) res.write(more());
  }
  if (!res.destroyed) res.end();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
