/**
 * The crawler side of Web Bot Auth, for tests and the local stack: an Ed25519 key, the key
 * directory that publishes it, and RFC 9421 signatures over chosen request components. Only
 * WebCrypto, so it runs in Node and inside workerd alike. It is written apart from the verifier
 * in src/crawlers on purpose: a verifier checked only against its own serialisation proves little.
 */

/** A crawler's signing key and its public half as the directory publishes it. */
export interface CrawlerKey {
  privateKey: CryptoKey;
  publicJwk: { kty: "OKP"; crv: "Ed25519"; x: string };
  /** RFC 7638 thumbprint of the public key: the `keyid` of every signature. */
  thumbprint: string;
}

/** Generates a fresh Ed25519 key (extractable, so it can be handed to another process). */
export async function generateCrawlerKey(): Promise<CrawlerKey> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return importCrawlerKey((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey);
}

/** Imports a private Ed25519 JWK (with `d` and `x`). */
export async function importCrawlerKey(privateJwk: JsonWebKey): Promise<CrawlerKey> {
  // Only the key material: runtimes disagree on `alg` for Ed25519 ("Ed25519" vs "EdDSA").
  const { kty, crv, x: publicX, d } = privateJwk;
  const jwk: JsonWebKey = { kty, crv, x: publicX, d };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, true, ["sign"]);
  const x = String(privateJwk.x);
  const canonical = JSON.stringify({ crv: "Ed25519", kty: "OKP", x });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return {
    privateKey,
    publicJwk: { kty: "OKP", crv: "Ed25519", x },
    thumbprint: base64url(new Uint8Array(digest)),
  };
}

/** The private JWK of a key, to persist it or pass it to another process. */
export async function exportCrawlerKey(key: CrawlerKey): Promise<JsonWebKey> {
  return (await crypto.subtle.exportKey("jwk", key.privateKey)) as JsonWebKey;
}

/** The JWKS a key directory serves for these keys. */
export function keyDirectory(keys: CrawlerKey[]): { keys: Array<Record<string, string>> } {
  return { keys: keys.map((k) => ({ ...k.publicJwk, kid: k.thumbprint, use: "sig" })) };
}

/** Headers signed by default whenever a request carries them: what it agrees to pay, and how. */
const SIGNED_WHEN_PRESENT = [
  "crawler-exact-price",
  "crawler-max-price",
  "payment-signature",
  "x-payment",
];

/** How to sign; only `signatureAgent` is required. Tests bend the rest to build bad signatures. */
export interface SignOptions {
  /** The directory's origin, sent in `Signature-Agent`. */
  signatureAgent: string;
  /**
   * Covered components. Default: `@authority`, `@method`, `@path`, `signature-agent`, and the
   * `crawler-*-price` and payment headers the request carries.
   */
  components?: string[];
  /** `"string"` sends `Signature-Agent: "https://…"`; `"dictionary"` sends `sig1="https://…"`. */
  agentForm?: "string" | "dictionary";
  /** Unix seconds; default now and now + 300. */
  created?: number;
  expires?: number;
  label?: string;
  /** Default `web-bot-auth`; `null` leaves the tag out. */
  tag?: string | null;
  /** Default the key's thumbprint. */
  keyid?: string;
  /** Default 32 random bytes; `null` leaves the nonce out. */
  nonce?: string | null;
}

/** A request to sign, as fetch would send it. */
export interface RequestParts {
  method?: string;
  url: string;
  headers?: HeadersInit;
}

/** Returns the request's headers with `Signature-Agent`, `Signature-Input` and `Signature` added. */
export async function signHeaders(
  key: CrawlerKey,
  request: RequestParts,
  options: SignOptions,
): Promise<Headers> {
  const headers = new Headers(request.headers);
  const label = options.label ?? "sig1";
  const dictionary = options.agentForm === "dictionary";
  headers.set(
    "signature-agent",
    dictionary ? `${label}=${quote(options.signatureAgent)}` : quote(options.signatureAgent),
  );
  const now = Math.floor(Date.now() / 1000);
  const created = options.created ?? now;
  const expires = options.expires ?? created + 300;
  const names = options.components ?? [
    "@authority",
    "@method",
    "@path",
    "signature-agent",
    ...SIGNED_WHEN_PRESENT.filter((h) => headers.has(h)),
  ];
  const ids = names.map((name) =>
    name === "signature-agent" && dictionary ? `"${name}";key=${quote(label)}` : quote(name),
  );
  let params = `(${ids.join(" ")});created=${created};expires=${expires}`;
  params += `;keyid=${quote(options.keyid ?? key.thumbprint)};alg="ed25519"`;
  const nonce =
    options.nonce === undefined
      ? base64url(crypto.getRandomValues(new Uint8Array(32)))
      : options.nonce;
  if (nonce !== null) params += `;nonce=${quote(nonce)}`;
  if (options.tag !== null) params += `;tag=${quote(options.tag ?? "web-bot-auth")}`;

  const url = new URL(request.url);
  const lines = names.map(
    (name, i) => `${ids[i]}: ${value(name, request.method, url, headers, dictionary)}`,
  );
  lines.push(`"@signature-params": ${params}`);
  const bytes = new TextEncoder().encode(lines.join("\n"));
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, bytes);
  headers.set("signature-input", `${label}=${params}`);
  headers.set("signature", `${label}=:${btoa(String.fromCharCode(...new Uint8Array(signature)))}:`);
  return headers;
}

function value(
  name: string,
  method: string | undefined,
  url: URL,
  headers: Headers,
  dictionary: boolean,
): string {
  if (name === "@method") return (method ?? "GET").toUpperCase();
  if (name === "@authority") return url.host;
  if (name === "@path") return url.pathname;
  if (name === "@query") return url.search || "?";
  if (name === "@target-uri") return url.href;
  if (name === "@scheme") return url.protocol.replace(":", "");
  if (name === "signature-agent" && dictionary) return headers.get(name)!.replace(/^[^=]*=/, "");
  return headers.get(name)?.trim() ?? "";
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
