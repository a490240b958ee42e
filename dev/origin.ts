/**
 * The demo origin behind the paywall: a small website (free home page, paid `/articles/*`) and a
 * JSON API (paid `/api/*`, free `/api/free/*`), plus `/robots.txt`. It knows nothing of x402; it
 * reads the `x-payer` header the paywall adds. Bound to 127.0.0.1.
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLoopback } from "./http.ts";

/** A running demo origin; `hits(path)` counts requests it served for a path. */
export interface RunningOrigin {
  url: string;
  hits(path: string): number;
  stop(): Promise<void>;
}

const ARTICLES: Record<string, { title: string; body: string }> = {
  "hello-x402": {
    title: "Hello, x402",
    body: "HTTP 402 Payment Required finally has a protocol: this page cost one cent in USDC.",
  },
  "edge-paywalls": {
    title: "Paywalls at the edge",
    body: "The paywall answers unpaid requests at the edge; only paid ones reach this origin.",
  },
};

/** Tenants of `/api/tenants/<name>/*` and the addresses they are paid at (anvil #5 and #6). */
export const TENANTS: Readonly<Record<string, string>> = {
  alice: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
  bob: "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
};

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://origin");
  const payer = req.headers["x-payer"];
  const json = (status: number, body: unknown) =>
    res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));

  if (url.pathname === "/") {
    const links = Object.entries(ARTICLES)
      .map(([slug, a]) => `<li><a href="/articles/${slug}">${a.title}</a> ($0.01)</li>`)
      .join("");
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(page("Demo site", `<p>Free home page.</p><ul>${links}</ul>`));
  } else if (url.pathname === "/robots.txt") {
    res.writeHead(200, { "Content-Type": "text/plain" }).end("User-agent: *\nAllow: /\n");
  } else if (url.pathname.startsWith("/articles/")) {
    const article = ARTICLES[url.pathname.slice("/articles/".length)];
    if (!article)
      return void res.writeHead(404, { "Content-Type": "text/plain" }).end("no such article");
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(page(article.title, `<p>${article.body}</p><p>Paid by ${String(payer)}.</p>`));
  } else if (url.pathname.startsWith("/api/free/")) {
    json(200, { free: true, path: url.pathname });
  } else if (url.pathname === "/api/fail") {
    json(500, { error: "the demo API failed on purpose" });
  } else if (url.pathname.startsWith("/api/quoted/")) {
    // Quotes its own price in band (x402-price): the `price` query, by default $0.004.
    const price = url.searchParams.get("price") ?? "$0.004";
    if (req.headers["x402-quote-request"] === "1") {
      return void res.writeHead(204, { "x402-price": price }).end();
    }
    res.writeHead(200, { "Content-Type": "application/json", "x402-price": price });
    res.end(
      JSON.stringify({ paid: true, quoted: price, path: url.pathname, payer: payer ?? null }),
    );
  } else if (url.pathname.startsWith("/api/tenants/")) {
    // Names its own payee (x402-pay-to): each tenant is paid at its own address.
    const tenant = url.pathname.split("/")[3] ?? "";
    const payTo = TENANTS[tenant];
    if (!payTo) return void json(404, { error: `no tenant ${tenant}` });
    res.writeHead(200, { "Content-Type": "application/json", "x402-pay-to": payTo });
    res.end(JSON.stringify({ tenant, paid: req.headers["x402-quote-request"] !== "1" }));
  } else if (url.pathname.startsWith("/api/metered/")) {
    // A metered API: reports the tokens it used (the `tokens` query, by default 250).
    const tokens = url.searchParams.get("tokens") ?? "250";
    res.writeHead(200, { "Content-Type": "application/json", "x-usage-units": tokens });
    res.end(
      JSON.stringify({ answer: "metered demo", tokens: Number(tokens), payer: payer ?? null }),
    );
  } else if (
    url.pathname.startsWith("/api/stream/") &&
    url.searchParams.get("stream") === "false"
  ) {
    // The streamed API asked for one JSON answer (`stream=false`), as OpenAI-style APIs allow;
    // it reports its usage inside unless `usage=none`.
    const tokens = Number(url.searchParams.get("tokens") ?? "120");
    const usage =
      url.searchParams.get("usage") === "none" ? {} : { usage: { total_tokens: tokens } };
    json(200, { text: "Paid by the token, in one answer.", ...usage, payer: payer ?? null });
  } else if (url.pathname.startsWith("/api/stream/")) {
    // A streamed metered API (Server-Sent Events); the last event reports the tokens used.
    const tokens = Number(url.searchParams.get("tokens") ?? "120");
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    const words = ["Paid", "by", "the", "token,", "settled", "when", "the", "stream", "ends."];
    words.forEach((word) => res.write(`data: ${JSON.stringify({ text: word })}\n\n`));
    // `usage=none`: a stream that never reports its usage.
    if (url.searchParams.get("usage") === "none") return void res.end("data: [DONE]\n\n");
    res.end(`data: ${JSON.stringify({ usage: { total_tokens: tokens } })}\n\ndata: [DONE]\n\n`);
  } else if (url.pathname.startsWith("/api/dir/") && !url.pathname.endsWith("/")) {
    // A directory-style page: the origin adds the trailing slash with a redirect.
    res.writeHead(302, { Location: `${url.pathname}/${url.search}` }).end();
  } else if (url.pathname.startsWith("/api/")) {
    json(200, {
      paid: true,
      path: url.pathname,
      query: url.search,
      payer: payer ?? null,
      at: new Date().toISOString(),
    });
  } else {
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  }
}

/** Starts the demo origin on 127.0.0.1:`port` (0 picks a free port). */
export async function startOrigin(opts: { port: number }): Promise<RunningOrigin> {
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    counts.set(path, (counts.get(path) ?? 0) + 1);
    try {
      route(req, res);
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  const { url, stop } = await listenLoopback(server, opts.port);
  return { url, hits: (path) => counts.get(path) ?? 0, stop };
}
