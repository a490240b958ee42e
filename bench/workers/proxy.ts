/**
 * The plain forwarding step every proxying bench Worker shares: same method, path, query, headers
 * and body, redirects passed back, the response streamed as the origin sends it. It does what any
 * reverse proxy must do and nothing more, so it is the floor for requests that reach the origin.
 */

/** Bindings of the proxying bench Workers. */
export interface ProxyEnv {
  /** The origin's base URL, e.g. "http://127.0.0.1:9000". */
  ORIGIN_URL: string;
}

/** Forwards `request` to the same path and query on `originUrl`. */
export function forward(request: Request, originUrl: string): Promise<Response> {
  const incoming = new URL(request.url);
  const target = new URL(incoming.pathname + incoming.search, originUrl);
  const headers = new Headers(request.headers);
  headers.set("X-Forwarded-Host", incoming.host);
  headers.set("X-Forwarded-Proto", incoming.protocol.replace(":", ""));
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  return fetch(target.href, {
    method: request.method,
    headers,
    body: hasBody ? request.body : null,
    redirect: "manual",
  });
}
