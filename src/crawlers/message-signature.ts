import {
  parseDictionary,
  serializeBareItem,
  serializeMember,
  serializeParams,
} from "./structured-fields";
import type { BareItem, Dictionary, InnerList, Item } from "./structured-fields";

/**
 * Reading one Web Bot Auth signature from a request and rebuilding the bytes it signs (RFC 9421
 * §2, §2.5, §4). Pure and synchronous: key lookup and the Ed25519 check live in web-bot-auth.ts.
 *
 * Why not Cloudflare's `http-message-sig` (0.3.0): it runs in workerd and verified every case
 * tried (the Web Bot Auth reference example, this project's signer with both Signature-Agent
 * forms, a second signature beside the tagged one), but its verify path weighs 4,349 bytes gzip
 * (minified, without structured-headers) against 1,844 for this file, so the Worker would grow by
 * about 2.5 KiB; it pins structured-headers 2.0.3 exactly (a second copy of a parser), refuses a
 * Signature whose labels differ from Signature-Input's, and rebuilds `@request-target` only from
 * a hand-made descriptor, not from a Request.
 */

/** The tag that marks a Web Bot Auth signature (draft-meunier-web-bot-auth-architecture). */
export const WEB_BOT_AUTH_TAG = "web-bot-auth";

/** Signature headers longer than this are refused before parsing. */
export const MAX_SIGNATURE_HEADER_CHARS = 8 * 1024;

/** The Web Bot Auth signature a request carries, with its metadata checked for shape. */
export interface SignatureInput {
  label: string;
  /** The covered components as sent, in order. */
  components: Item[];
  /** Each component's identifier, serialised (`@authority`, `signature-agent;key="sig1"`). */
  componentIds: string[];
  created: number;
  expires: number;
  keyid: string;
  /** The `nonce` parameter, when sent: what makes one signed request single-use. */
  nonce: string | undefined;
  /** The inner list as the signature base's `@signature-params` line carries it. */
  signatureParams: string;
  signature: Uint8Array;
}

/** What a request says about its signature. */
export type SignatureRead =
  | { type: "unsigned" }
  | { type: "invalid"; reason: string }
  | { type: "signed"; input: SignatureInput };

/** Finds the first signature tagged `web-bot-auth` and checks its metadata's types. */
export function readSignature(headers: Headers): SignatureRead {
  const inputHeader = headers.get("signature-input");
  const signatureHeader = headers.get("signature");
  if (inputHeader === null && signatureHeader === null) return { type: "unsigned" };
  if (inputHeader === null) return invalid("Signature is sent without Signature-Input");
  if (signatureHeader === null) return invalid("Signature-Input is sent without Signature");
  for (const [name, value] of [
    ["Signature-Input", inputHeader],
    ["Signature", signatureHeader],
  ]) {
    if (value!.length > MAX_SIGNATURE_HEADER_CHARS) {
      return invalid(`${name} is longer than ${MAX_SIGNATURE_HEADER_CHARS} characters`);
    }
  }
  const inputs = parseDictionary(inputHeader);
  if (!inputs.ok)
    return invalid(`Signature-Input is not a structured dictionary: ${inputs.reason}`);
  const signatures = parseDictionary(signatureHeader);
  if (!signatures.ok)
    return invalid(`Signature is not a structured dictionary: ${signatures.reason}`);

  const tagged = [...inputs.value].find(
    ([, member]) =>
      member.kind === "inner-list" && isString(member.params.get("tag"), WEB_BOT_AUTH_TAG),
  );
  if (!tagged) return invalid(`no signature is tagged "${WEB_BOT_AUTH_TAG}"`);
  const [label, member] = tagged as [string, InnerList];
  const signature = signatures.value.get(label);
  if (signature?.kind !== "item" || signature.value.type !== "bytes") {
    return invalid(`Signature has no byte sequence for the label "${label}"`);
  }
  return checkInput(label, member, signature.value.value);
}

function checkInput(label: string, list: InnerList, signature: Uint8Array): SignatureRead {
  const created = list.params.get("created");
  const expires = list.params.get("expires");
  const keyid = list.params.get("keyid");
  const alg = list.params.get("alg");
  if (created?.type !== "integer") return invalid("created must be an integer");
  if (expires?.type !== "integer") return invalid("expires must be an integer");
  if (keyid?.type !== "string" || keyid.value === "") return invalid("keyid must be a string");
  if (alg !== undefined && !isString(alg, "ed25519")) return invalid('alg must be "ed25519"');
  const nonce = list.params.get("nonce");
  if (nonce !== undefined && (nonce.type !== "string" || nonce.value === "")) {
    return invalid("nonce must be a non-empty string");
  }

  const componentIds: string[] = [];
  for (const item of list.items) {
    if (item.value.type !== "string") return invalid("covered components must be strings");
    const id = item.value.value + serializeParams(item.params);
    if (componentIds.includes(id)) return invalid(`the component ${id} is covered twice`);
    componentIds.push(id);
  }
  return {
    type: "signed",
    input: {
      label,
      components: list.items,
      componentIds,
      created: created.value,
      expires: expires.value,
      keyid: keyid.value,
      nonce: nonce?.value,
      signatureParams: serializeMember(list),
      signature,
    },
  };
}

/**
 * Rebuilds the signature base (RFC 9421 §2.5): one `"<component>": <value>` line per covered
 * component, then the `@signature-params` line. Derived components come from the URL the Worker
 * received (§2.2); header fields from the request's headers, combined as fetch combines them
 * (§2.1). A covered header that is absent, or a component this verifier does not know, makes
 * the signature unverifiable, and the reason says which.
 */
export function signatureBase(
  request: Request,
  input: SignatureInput,
): { ok: true; base: string } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return { ok: false, reason: "the request URL cannot be parsed" };
  }
  const lines: string[] = [];
  for (const item of input.components) {
    const value = componentValue(request, url, item);
    if (!value.ok) return value;
    lines.push(`${serializeBareItem(item.value)}${serializeParams(item.params)}: ${value.value}`);
  }
  lines.push(`"@signature-params": ${input.signatureParams}`);
  return { ok: true, base: lines.join("\n") };
}

function componentValue(
  request: Request,
  url: URL,
  item: Item,
): { ok: true; value: string } | { ok: false; reason: string } {
  const name = item.value.type === "string" ? item.value.value : "";
  if (name.startsWith("@")) {
    if (item.params.size > 0) return unsupported(`${name} with parameters`);
    const value = derived(request, url, name);
    return value === undefined ? unsupported(name) : { ok: true, value };
  }
  if (name === "" || name !== name.toLowerCase()) {
    return { ok: false, reason: `the component "${name}" is not a lower-case field name` };
  }
  let value: string | null;
  try {
    value = request.headers.get(name);
  } catch {
    return { ok: false, reason: `the component "${name}" is not a valid field name` };
  }
  if (value === null) return { ok: false, reason: `the covered header ${name} is missing` };
  const key = item.params.get("key");
  if (item.params.size === 0) return { ok: true, value: value.trim() };
  if (item.params.size === 1 && key?.type === "string")
    return dictionaryMember(name, value, key.value);
  return unsupported(`${name}${serializeParams(item.params)}`);
}

/** Derived components (RFC 9421 §2.2); undefined for those not supported here. */
function derived(request: Request, url: URL, name: string): string | undefined {
  switch (name) {
    case "@method":
      return request.method;
    case "@target-uri":
      return url.href;
    case "@authority":
      return url.host.toLowerCase();
    case "@scheme":
      return url.protocol.slice(0, -1).toLowerCase();
    case "@request-target":
      return url.pathname + url.search;
    case "@path":
      return url.pathname || "/";
    case "@query":
      return url.search || "?";
    default:
      return undefined;
  }
}

/** The `;key` form of a header component: one member of a Dictionary field, re-serialised (§2.1.2). */
function dictionaryMember(
  name: string,
  raw: string,
  key: string,
): { ok: true; value: string } | { ok: false; reason: string } {
  const dict: { ok: true; value: Dictionary } | { ok: false; reason: string } =
    parseDictionary(raw);
  if (!dict.ok)
    return { ok: false, reason: `${name} is not a structured dictionary: ${dict.reason}` };
  const member = dict.value.get(key);
  if (!member) return { ok: false, reason: `${name} has no member "${key}"` };
  return { ok: true, value: serializeMember(member) };
}

function unsupported(what: string): { ok: false; reason: string } {
  return { ok: false, reason: `the component ${what} is not supported` };
}

function isString(item: BareItem | undefined, expected: string): boolean {
  return item?.type === "string" && item.value === expected;
}

function invalid(reason: string): SignatureRead {
  return { type: "invalid", reason };
}
