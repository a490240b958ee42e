/**
 * A timing pass-through: a small HTTP proxy on 127.0.0.1 put in front of the origin or the
 * facilitator. It records when each request arrived and when its answer was fully sent, so the
 * time a Worker spent waiting past it can be subtracted from the client's time, request by request.
 */
import { Agent, createServer, request as httpRequest } from "node:http";
import { listenLoopback } from "../dev/http.ts";

/** One request that went through: its path and its span on `performance.now()`'s clock. */
export interface Span {
  path: string;
  start: number;
  end: number;
}

/** A running pass-through. */
export interface PassThrough {
  readonly url: string;
  /** How many requests it has seen (finished or not). */
  count(): number;
  /** Finished requests that started at or after `from` and ended at or before `to`. */
  spansWithin(from: number, to: number): Span[];
  stop(): Promise<void>;
}

/** Starts a pass-through to `upstream` (an http:// base URL) on a free port. */
export async function startPassThrough(upstream: string): Promise<PassThrough> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const spans: Span[] = [];
  let seen = 0;
  const server = createServer((req, res) => {
    const start = performance.now();
    seen += 1;
    const path = req.url ?? "/";
    const out = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    out.on("error", (error) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { "content-type": "text/plain" }).end(String(error));
    });
    res.on("finish", () => {
      spans.push({ path: path.split("?")[0] ?? path, start, end: performance.now() });
      if (spans.length > 100_000) spans.splice(0, 50_000);
    });
    req.pipe(out);
  });
  server.keepAliveTimeout = 30_000;
  const { url, stop } = await listenLoopback(server);
  return {
    url,
    count: () => seen,
    spansWithin: (from, to) => spans.filter((s) => s.start >= from && s.end <= to),
    stop: () => {
      agent.destroy();
      return stop();
    },
  };
}
