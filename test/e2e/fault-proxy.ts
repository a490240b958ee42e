import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLoopback } from "../../dev/http.ts";

/**
 * A fault-injecting HTTP proxy for the end-to-end fault tests, on 127.0.0.1: it forwards each
 * request to its target unless `faultFor(path)` names a fault for it. Faults:
 * - `refuse`: the connection is reset before any answer (a facilitator or origin that is down);
 * - `error500`: HTTP 500; `garbage`: a 200 whose body is not JSON;
 * - `slow`: nothing is forwarded; a 504 comes after `delayMs` (past the caller's timeout);
 * - `late`: forwarded at once (it happens), but its answer comes after `delayMs`;
 * - `drop`: forwarded at once (it happens), then the connection is reset instead of answering
 *   (the answer is lost);
 * - `reset-mid-body`: forwarded; the status, headers and half the body are sent, then the
 *   connection is reset.
 */

/** What the proxy does to one request. */
export type Fault =
  "pass" | "refuse" | "error500" | "garbage" | "slow" | "late" | "drop" | "reset-mid-body";

/** A running fault proxy. */
export interface FaultProxy {
  url: string;
  /** Chooses the fault for a request path (default: pass everything). */
  faultFor: (path: string) => Fault;
  delayMs: number;
  /** Paths of the requests it received, in order. */
  readonly received: string[];
  stop(): Promise<void>;
}

/** Starts a proxy to `target` (set later with `retarget` when the target is not known yet). */
export async function startFaultProxy(): Promise<FaultProxy & { retarget(url: string): void }> {
  let target = "";
  const received: string[] = [];
  const proxy = {
    url: "",
    faultFor: (_path: string): Fault => "pass",
    delayMs: 3000,
    received,
    retarget: (url: string) => (target = url),
    stop: async () => {},
  };
  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? "/";
    received.push(path);
    const fault = proxy.faultFor(path);
    if (fault === "refuse") return void res.socket?.resetAndDestroy();
    if (fault === "error500") return void res.writeHead(500).end("boom");
    if (fault === "garbage") {
      return void res.writeHead(200, { "content-type": "application/json" }).end("<html>oops");
    }
    if (fault === "slow") {
      await sleep(proxy.delayMs);
      return void res.writeHead(504).end("too late");
    }
    const headers = new Headers();
    // fetch sets the body's own length: a copied Content-Length is refused by some dispatchers
    // (undici 7 as the global one: "invalid content-length header").
    const hopByHop = ["host", "connection", "content-length"];
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string" && !hopByHop.includes(name)) {
        headers.set(name, value);
      }
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const answer = await fetch(`${target}${path}`, {
      method: req.method ?? "GET",
      headers,
      ...(hasBody && { body: Buffer.concat(chunks) }),
      redirect: "manual",
    });
    const body = Buffer.from(await answer.arrayBuffer());
    if (fault === "late") await sleep(proxy.delayMs);
    if (fault === "drop") return void res.socket?.resetAndDestroy();
    if (res.destroyed) return;
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(name))
        out[name] = value;
    });
    if (fault === "reset-mid-body") {
      res.writeHead(answer.status, out);
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      await sleep(100);
      return void res.socket?.resetAndDestroy();
    }
    res.writeHead(answer.status, out).end(body);
  }
  const listening = await listenLoopback(server);
  proxy.url = listening.url;
  proxy.stop = listening.stop;
  return proxy;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
