import { base64Decode, base64url } from "../encoding";
/**
 * Loading a crawler's key directory (draft-meunier-http-message-signatures-directory): a JWKS
 * served at `/.well-known/http-message-signatures-directory` of the origin a `Signature-Agent`
 * header names. The URL comes from the client, so every load is bounded: HTTPS only (plain HTTP
 * only for loopback hosts, and only when allowed), no redirects, a timeout, a size cap, and a
 * per-isolate cache bounded in entries and age. Failures are cached briefly too, so a hostile
 * client cannot make the Worker fetch the same broken directory on every request.
 */

/** The path of a key directory under its origin. */
export const DIRECTORY_PATH = "/.well-known/http-message-signatures-directory";

/** The media type a key directory is served with. */
export const DIRECTORY_MEDIA_TYPE = "application/http-message-signatures-directory+json";

/** How `fetch` is called; injectable so tests need no network. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Limits of the directory cache and of each load; every field has a default. */
export interface DirectoryLimits {
  /** Directories kept per isolate; the least recently used is dropped first. Default 256. */
  maxEntries: number;
  /** Bounds on how long a loaded directory is trusted; `Cache-Control: max-age` is clamped to them. */
  minTtlMs: number;
  maxTtlMs: number;
  /** Used when the directory sends no `max-age`. Default one hour. */
  defaultTtlMs: number;
  /** How long a failed load is remembered. Default 30 s. */
  failureTtlMs: number;
  /** Time allowed for the whole load, body included. Default 3 s. */
  timeoutMs: number;
  /** Largest directory body accepted. Default 64 KiB. */
  maxBytes: number;
}

/** The defaults of {@link DirectoryLimits}. */
export const DEFAULT_DIRECTORY_LIMITS: Readonly<DirectoryLimits> = {
  maxEntries: 256,
  minTtlMs: 60_000,
  maxTtlMs: 24 * 3600_000,
  defaultTtlMs: 3600_000,
  failureTtlMs: 30_000,
  timeoutMs: 3_000,
  maxBytes: 64 * 1024,
};

/**
 * A loaded directory: its Ed25519 keys by RFC 7638 thumbprint, or why there are none.
 * `retryable` failures (unreachable, timed out, HTTP 5xx or 429) are the directory host's
 * trouble, not proof of a bad signature; either way nothing is verified.
 */
export type DirectoryLoad =
  | { ok: true; keys: ReadonlyMap<string, CryptoKey> }
  | { ok: false; reason: string; retryable: boolean };

/** A failed load; `retryable` when the host may answer later. */
class LoadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Where a Signature-Agent value points, or why it may not be fetched. */
export function directoryUrl(
  agent: string,
  allowInsecureLoopback: boolean,
): { ok: true; url: string } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(agent);
  } catch {
    return { ok: false, reason: `Signature-Agent "${agent}" is not a URL` };
  }
  if (url.username || url.password || url.search || url.hash) {
    return {
      ok: false,
      reason: "Signature-Agent must name an origin, without credentials, query or fragment",
    };
  }
  if (url.pathname !== "/" && url.pathname !== DIRECTORY_PATH) {
    return { ok: false, reason: `Signature-Agent must name an origin or its ${DIRECTORY_PATH}` };
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (
    url.protocol !== "https:" &&
    !(url.protocol === "http:" && loopback && allowInsecureLoopback)
  ) {
    return { ok: false, reason: `key directory ${url.origin} is not served over HTTPS` };
  }
  return { ok: true, url: url.origin + DIRECTORY_PATH };
}

/** The RFC 7638 thumbprint of an Ed25519 public key: base64url(SHA-256 of the canonical JWK). */
export async function jwkThumbprint(x: string): Promise<string> {
  const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return base64url(new Uint8Array(digest));
}

/**
 * A per-isolate cache of key directories (results, good or bad, for their TTL). Concurrent first
 * loads of one URL each fetch it: in workerd a request must not await a fetch another request
 * started (it belongs to that request, and can hang if that request is cancelled).
 */
export class KeyDirectoryCache {
  private readonly entries = new Map<string, { expiresAt: number; result: DirectoryLoad }>();
  private readonly limits: DirectoryLimits;

  constructor(
    private readonly fetcher: FetchLike,
    private readonly now: () => number,
    limits: Partial<DirectoryLimits> = {},
  ) {
    this.limits = { ...DEFAULT_DIRECTORY_LIMITS, ...limits };
  }

  /** The keys of the directory at `url` (an HTTPS URL already checked by {@link directoryUrl}). */
  async get(url: string): Promise<DirectoryLoad> {
    const cached = this.entries.get(url);
    if (cached && cached.expiresAt > this.now()) {
      this.entries.delete(url); // re-insert: most recently used last
      this.entries.set(url, cached);
      return cached.result;
    }
    const { result, ttlMs } = await this.load(url);
    this.entries.delete(url);
    this.entries.set(url, { expiresAt: this.now() + ttlMs, result });
    while (this.entries.size > this.limits.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return result;
  }

  /** How many directories are cached now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private async load(url: string): Promise<{ result: DirectoryLoad; ttlMs: number }> {
    const failure = (reason: string, retryable = false) => ({
      result: { ok: false as const, reason: `key directory ${url}: ${reason}`, retryable },
      ttlMs: this.limits.failureTtlMs,
    });
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new LoadError(`no answer within ${this.limits.timeoutMs} ms`, true));
      }, this.limits.timeoutMs);
    });
    try {
      const { body, cacheControl } = await Promise.race([
        this.download(url, controller.signal),
        timeout,
      ]);
      const parsed = await parseDirectory(body);
      if (!parsed.ok) return failure(parsed.reason);
      return { result: { ok: true, keys: parsed.keys }, ttlMs: this.ttl(cacheControl) };
    } catch (error) {
      if (error instanceof LoadError) return failure(error.message, error.retryable);
      // fetch itself failed: the host could not be reached.
      return failure(`could not be reached (${String(error)})`, true);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  private async download(
    url: string,
    signal: AbortSignal,
  ): Promise<{ body: string; cacheControl: string | null }> {
    const response = await this.fetcher(url, {
      headers: { accept: `${DIRECTORY_MEDIA_TYPE}, application/json;q=0.9` },
      redirect: "manual",
      signal,
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      const retryable = response.status >= 500 || response.status === 429;
      throw new LoadError(`answered HTTP ${response.status}`, retryable);
    }
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== DIRECTORY_MEDIA_TYPE && type !== "application/json") {
      await response.body?.cancel();
      throw new LoadError(`is served as "${type}", not ${DIRECTORY_MEDIA_TYPE}`, false);
    }
    const body = await readCapped(response, this.limits.maxBytes);
    return { body, cacheControl: response.headers.get("cache-control") };
  }

  private ttl(cacheControl: string | null): number {
    const { minTtlMs, maxTtlMs, defaultTtlMs } = this.limits;
    if (cacheControl === null) return defaultTtlMs;
    if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(cacheControl)) return minTtlMs;
    const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?\s*(?:,|$)/i.exec(cacheControl);
    if (!maxAge) return defaultTtlMs;
    return Math.min(maxTtlMs, Math.max(minTtlMs, Number(maxAge[1]) * 1000));
  }
}

/** Reads a body, refusing it as soon as it grows past `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new LoadError(`is larger than ${maxBytes} bytes`, false);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new LoadError(`is larger than ${maxBytes} bytes`, false);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(all);
  } catch {
    throw new LoadError("is not UTF-8", false);
  }
}

/** At most this many keys of a directory are imported. */
const MAX_KEYS = 32;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The Ed25519 keys of a JWKS by thumbprint, or a reason; other key types are skipped. */
async function parseDirectory(
  body: string,
): Promise<{ ok: true; keys: Map<string, CryptoKey> } | { ok: false; reason: string }> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: "is not JSON" };
  }
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return { ok: false, reason: 'is not a JWKS (no "keys" array)' };
  const found = new Map<string, CryptoKey>();
  for (const jwk of keys.slice(0, MAX_KEYS) as unknown[]) {
    const { kty, crv, x } = (jwk ?? {}) as { kty?: unknown; crv?: unknown; x?: unknown };
    if (kty !== "OKP" || crv !== "Ed25519" || typeof x !== "string") continue;
    // base64url without padding (RFC 7517 §2): standard base64 or padding is not let in.
    const raw = BASE64URL.test(x) ? base64Decode(x) : undefined;
    if (raw?.byteLength !== 32) continue;
    try {
      const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
      found.set(await jwkThumbprint(x), key);
    } catch {
      continue; // not a usable Ed25519 point: skipped like any other foreign key
    }
  }
  return found.size > 0 ? { ok: true, keys: found } : { ok: false, reason: "has no Ed25519 key" };
}
