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

/** A running scripted origin. */
export interface ScriptedOrigin extends Listening {
  /** Requests seen, as `METHOD path`. */
  readonly seen: string[];
}

/** Starts the scripted origin on a free port. */
export async function startScriptedOrigin(): Promise<ScriptedOrigin> {
  const seen: string[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    seen.push(`${req.method ?? "GET"} ${req.url ?? "/"}`);
    open.add(res);
    res.on("close", () => open.delete(res));
    void answer(req, res).catch(() => res.destroy());
  });
  const listening = await listenLoopback(server);
  return {
    ...listening,
    seen,
    stop: async () => {
      for (const res of open) res.destroy();
      await listening.stop();
    },
  };
}

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      // Headers and part of the body, then the connection is reset.
      res.writeHead(200, json);
      res.write(content.slice(0, 5));
      await sleep(50);
      return void res.socket?.resetAndDestroy();
    case "slow":
      await sleep(SLOW_MS);
      return void res.writeHead(200, json).end(content);
    case "hold":
      // The content starts, the rest is held until the client goes away.
      // (Padded past any buffering on the way, so the first part does reach the client.)
      res.writeHead(200, { "Content-Type": "text/plain" });
      return void res.write(`${CONTENT_MARKER} first part|${" ".repeat(32 * 1024)}`);
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
      res.writeHead(200, sse);
      return void res.write(event({ text: CONTENT_MARKER }));
    default:
      return void res.writeHead(200, json).end(content);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
