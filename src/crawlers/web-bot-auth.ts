import { directoryUrl, KeyDirectoryCache } from "./key-directory";
import type { DirectoryLimits, FetchLike } from "./key-directory";
import { readSignature, signatureBase } from "./message-signature";
import type { SignatureInput } from "./message-signature";
import { parseDictionary, parseItem } from "./structured-fields";
import type { Member } from "./structured-fields";

/**
 * Web Bot Auth verification (draft-meunier-web-bot-auth-architecture over RFC 9421): a request
 * proves which key signed it, and the `Signature-Agent` header names the key directory that
 * publishes that key. A verified result says "the holder of key `keyid`, published at
 * `directory`, signed these components"; who that is, is decided by identify.ts.
 *
 * Every failure is a value with a reason; `verify` never throws, whatever the client sends.
 *
 * Why not Cloudflare's `web-bot-auth` package (0.1.3): it runs in workerd, but it verifies through
 * `http-message-sig` 0.2, which refuses a Signature-Input carrying more than one signature,
 * ignores the `;key` parameter (so the Dictionary form of Signature-Agent, covered as
 * `"signature-agent";key="sig1"`, never verifies), turns a missing covered header into an empty
 * value, and reads the clock from `new Date()` with no skew, no longest validity and no way to
 * inject time. It loads no key directory (key-directory.ts stays either way) and weighs 4,666
 * bytes gzip minified, with its own copy of structured-headers.
 */

/** The outcome of verifying a request. */
export type WebBotAuthResult =
  | {
      status: "verified";
      /** The RFC 7638 thumbprint of the signing key: a stable identity for the signer. */
      keyid: string;
      /** The key directory URL the key was found in. */
      directory: string;
      label: string;
      /** Covered components (`@authority`, `crawler-max-price`, `signature-agent;key="sig1"`). */
      coveredComponents: string[];
      /** When the signature was made, in Unix seconds (as the signer says). */
      created: number;
      /** When the signature stops being valid, in Unix seconds. */
      expires: number;
      /** The signature's `nonce`, when sent (needed to spend prepaid credit). */
      nonce: string | undefined;
    }
  | { status: "unsigned" }
  | { status: "invalid"; reason: string }
  /** The key directory could not be loaded right now (unreachable, 5xx): nothing is proven. */
  | { status: "unavailable"; reason: string };

/** Options of a verifier; all optional. */
export interface VerifierOptions {
  /** Fetches key directories; defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** The clock in milliseconds; defaults to `Date.now`. */
  now?: () => number;
  /** Lets `Signature-Agent` name plain-HTTP loopback hosts (local development only). */
  allowInsecureLoopback?: boolean;
  /** Tolerance on `created` and `expires`. Default 60 s. */
  clockSkewSeconds?: number;
  /**
   * Longest accepted `expires − created`, bounding how long a captured request can be replayed.
   * Default 3600 s, the window ChatGPT agent signs with.
   */
  maxValiditySeconds?: number;
  /** Limits of the key directory cache and loads. */
  directory?: Partial<DirectoryLimits>;
}

/** Verifies the Web Bot Auth signature of requests; keeps key directories cached per isolate. */
export interface WebBotAuthVerifier {
  verify(request: Request): Promise<WebBotAuthResult>;
}

/** Creates a verifier; build one per isolate so its directory cache is shared by requests. */
export function createWebBotAuthVerifier(options: VerifierOptions = {}): WebBotAuthVerifier {
  const now = options.now ?? Date.now;
  const fetcher: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const directories = new KeyDirectoryCache(fetcher, now, options.directory);
  const skew = options.clockSkewSeconds ?? 60;
  const maxValidity = options.maxValiditySeconds ?? 3600;

  async function verify(request: Request): Promise<WebBotAuthResult> {
    const read = readSignature(request.headers);
    if (read.type === "unsigned") return { status: "unsigned" };
    if (read.type === "invalid") return invalid(read.reason);
    const input = read.input;

    const nowSeconds = Math.floor(now() / 1000);
    if (input.created > nowSeconds + skew)
      return invalid("the signature was created in the future");
    if (input.expires < nowSeconds - skew) return invalid("the signature has expired");
    if (input.expires <= input.created) return invalid("expires is not after created");
    if (input.expires - input.created > maxValidity) {
      return invalid(`the signature is valid for more than ${maxValidity} s`);
    }
    if (!input.componentIds.includes("@authority")) return invalid("@authority is not covered");

    const agent = signatureAgent(request.headers, input);
    if (!agent.ok) return invalid(agent.reason);
    const url = directoryUrl(agent.value, options.allowInsecureLoopback ?? false);
    if (!url.ok) return invalid(url.reason);
    const base = signatureBase(request, input);
    if (!base.ok) return invalid(base.reason);
    if (input.signature.byteLength !== 64) return invalid("an Ed25519 signature is 64 bytes");

    const directory = await directories.get(url.url);
    if (!directory.ok) {
      if (directory.retryable) return { status: "unavailable", reason: directory.reason };
      return invalid(directory.reason);
    }
    const key = directory.keys.get(input.keyid);
    if (!key) return invalid(`keyid ${input.keyid} is not the thumbprint of a key in ${url.url}`);
    const data = new TextEncoder().encode(base.base);
    const valid = await crypto.subtle.verify({ name: "Ed25519" }, key, input.signature, data);
    if (!valid) return invalid("the signature does not match the request");
    return {
      status: "verified",
      keyid: input.keyid,
      directory: url.url,
      label: input.label,
      coveredComponents: input.componentIds,
      created: input.created,
      expires: input.expires,
      nonce: input.nonce,
    };
  }

  return {
    async verify(request) {
      try {
        return await verify(request);
      } catch (error) {
        // Nothing above should throw; if something does, it is still a refusal, never a pass.
        return invalid(`the signature could not be checked: ${String(error)}`);
      }
    },
  };
}

/**
 * Whether a verified signature covers each of the header fields `names` whole (case-insensitive).
 * False for unsigned and invalid results, so "must be signed" checks fail closed.
 */
export function isCovered(result: WebBotAuthResult, names: readonly string[]): boolean {
  if (result.status !== "verified") return false;
  return names.every((name) => result.coveredComponents.includes(name.toLowerCase()));
}

/**
 * The key directory origin a signature names. The header must be covered by the signature, or
 * someone replaying a signed request could point it at a directory of their choosing. Two forms
 * are read: the current Dictionary (`sig1="https://…"`, covered as `"signature-agent";key="sig1"`
 * or whole) and the earlier single String or bare URL (covered whole).
 */
function signatureAgent(
  headers: Headers,
  input: SignatureInput,
): { ok: true; value: string } | { ok: false; reason: string } {
  const header = headers.get("signature-agent");
  if (header === null)
    return { ok: false, reason: "no Signature-Agent header names the key directory" };
  const keyed = input.components.find(
    (c) => c.value.type === "string" && c.value.value === "signature-agent" && c.params.size > 0,
  );
  const key = keyed?.params.get("key");
  if (key?.type === "string") {
    const dict = parseDictionary(header);
    if (!dict.ok)
      return { ok: false, reason: `Signature-Agent is not a dictionary: ${dict.reason}` };
    return agentUri(dict.value.get(key.value));
  }
  if (!input.componentIds.includes("signature-agent")) {
    return { ok: false, reason: "Signature-Agent is not covered by the signature" };
  }
  const item = parseItem(header);
  if (item.ok) return agentUri(item.value);
  const dict = parseDictionary(header);
  if (!dict.ok) return { ok: false, reason: "Signature-Agent is neither a URL nor a dictionary" };
  return agentUri(
    dict.value.get(input.label) ??
      (dict.value.size === 1 ? [...dict.value.values()][0] : undefined),
  );
}

function agentUri(
  member: Member | undefined,
): { ok: true; value: string } | { ok: false; reason: string } {
  if (
    member?.kind !== "item" ||
    (member.value.type !== "string" && member.value.type !== "token")
  ) {
    return { ok: false, reason: "Signature-Agent has no URL for this signature" };
  }
  const type = member.params.get("type");
  if (
    type !== undefined &&
    !((type.type === "string" || type.type === "token") && type.value === "directory")
  ) {
    return { ok: false, reason: "only Signature-Agent key directories are supported" };
  }
  return { ok: true, value: member.value.value };
}

function invalid(reason: string): WebBotAuthResult {
  return { status: "invalid", reason };
}
