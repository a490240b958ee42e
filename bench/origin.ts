/**
 * The origin every bench target proxies to: the demo origin's routes (free `/api/free/*`, paid
 * `/api/*` and `/articles/:slug`) and `/feeds/*`, answered from memory, on 127.0.0.1 and a free port. It records
 * when each request arrived and when its answer was sent, so the time a Worker spent waiting for
 * it can be subtracted request by request, with no extra hop in front of it under load.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenLoopback } from "../dev/http.ts";
import type { PassThrough, Span } from "./passthrough.ts";

/** A running bench origin: the same shape as a pass-through (its `count` is requests seen). */
export type BenchOrigin = PassThrough;

const ARTICLE = (slug: string, payer: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${slug}</title></head>` +
  `<body><h1>${slug}</h1><p>The paywall answers unpaid requests at the edge; only paid ones ` +
  `reach this origin.</p><p>Paid by ${payer}.</p></body></html>`;

function answer(req: IncomingMessage, res: ServerResponse, path: string): void {
  const payer = String(req.headers["x-payer"] ?? "nobody");
  const json = (body: unknown): void => {
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  };
  if (path.startsWith("/api/free/")) json({ free: true, path });
  else if (path.startsWith("/api/") || path.startsWith("/feeds/"))
    json({ paid: true, path, payer });
  else if (path.startsWith("/articles/") || path.startsWith("/crawl/")) {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(ARTICLE(path.slice(path.indexOf("/", 1) + 1), payer));
  } else res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
}

/** Starts the bench origin. */
export async function startBenchOrigin(): Promise<BenchOrigin> {
  const spans: Span[] = [];
  let seen = 0;
  const server = createServer((req, res) => {
    const start = performance.now();
    seen += 1;
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    res.on("finish", () => {
      spans.push({ path, start, end: performance.now() });
      if (spans.length > 100_000) spans.splice(0, 50_000);
    });
    req.resume();
    answer(req, res, path);
  });
  server.keepAliveTimeout = 30_000;
  const { url, stop } = await listenLoopback(server);
  return {
    url,
    count: () => seen,
    spansWithin: (from, to) => spans.filter((s) => s.start >= from && s.end <= to),
    stop,
  };
}
