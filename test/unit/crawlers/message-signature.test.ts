import { describe, expect, it } from "vitest";
import { readSignature, signatureBase } from "../../../src/crawlers/message-signature.ts";
import type { SignatureInput } from "../../../src/crawlers/message-signature.ts";
import { parseDictionary, serializeMember } from "../../../src/crawlers/structured-fields.ts";
import type { InnerList } from "../../../src/crawlers/structured-fields.ts";
import { createWebBotAuthVerifier, jwkThumbprint } from "../../../src/crawlers/index.ts";

/**
 * Signature bases and signatures checked against published vectors, not against this project's
 * own signer: RFC 9421 Appendix B.2.6 (Ed25519 over a POST) and the Web Bot Auth example of
 * Cloudflare's reference implementation (same RFC 9421 B.1.4 test key).
 */

/** RFC 9421 B.1.4 `test-key-ed25519`, public half (JWK x). */
const TEST_KEY_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";
const TEST_KEY_THUMBPRINT = "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";

async function publicKey(): Promise<CryptoKey> {
  const jwk = { kty: "OKP", crv: "Ed25519", x: TEST_KEY_X };
  return crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["verify"]);
}

/** A SignatureInput built straight from a Signature-Input member (no Web Bot Auth rules). */
function inputOf(header: string, label: string, signature: Uint8Array): SignatureInput {
  const parsed = parseDictionary(header);
  if (!parsed.ok) throw new Error(parsed.reason);
  const list = parsed.value.get(label) as InnerList;
  return {
    label,
    components: list.items,
    componentIds: list.items.map((i) => (i.value.type === "string" ? i.value.value : "")),
    created: 0,
    expires: 0,
    keyid: "",
    nonce: undefined,
    signatureParams: serializeMember(list),
    signature,
  };
}

describe("RFC 9421 B.2.6 (Ed25519)", () => {
  const signatureInput =
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
  const signature = Uint8Array.from(
    atob(
      "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==",
    ),
    (c) => c.charCodeAt(0),
  );
  const request = new Request("https://example.com/foo?param=Value&Pet=dog", {
    method: "POST",
    headers: {
      Date: "Tue, 20 Apr 2021 02:07:55 GMT",
      "Content-Type": "application/json",
      "Content-Length": "18",
    },
  });

  it("should rebuild the RFC's signature base byte for byte", () => {
    const base = signatureBase(request, inputOf(signatureInput, "sig-b26", signature));
    expect(base).toEqual({
      ok: true,
      base: [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      ].join("\n"),
    });
  });

  it("should verify the RFC's signature over that base, and not over a changed one", async () => {
    const base = signatureBase(request, inputOf(signatureInput, "sig-b26", signature));
    if (!base.ok) throw new Error(base.reason);
    const key = await publicKey();
    const bytes = new TextEncoder().encode(base.base);
    expect(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, bytes)).toBe(true);
    const changed = new TextEncoder().encode(base.base.replace("/foo", "/bar"));
    expect(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, changed)).toBe(false);
  });
});

describe("RFC 7638 thumbprints", () => {
  it("should give the test key the keyid the Web Bot Auth drafts use", async () => {
    expect(await jwkThumbprint(TEST_KEY_X)).toBe(TEST_KEY_THUMBPRINT);
  });
});

describe("the Web Bot Auth reference example", () => {
  const headers = {
    "Signature-Agent": '"https://myexample.com"',
    "Signature-Input":
      'sig1=("@authority" "signature-agent");alg="ed25519";keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";nonce="ZO3/XMEZjrvSnLtAP9M7jK0WGQf3J+pbmQRUpKDhF9/jsNCWqUh2sq+TH4WTX3/GpNoSZUa8eNWMKqxWp2/c2g==";tag="web-bot-auth";created=1749332605;expires=1749332615',
    Signature:
      "sig1=:GXzHSRZ9Sf6WwLOZjxAhfE6WEUPfDMrVBJITsL2sbG8gtcZgqKe2Yn7uavk0iNQrfcPzgGq8h8Pk5osNGqdtCw==:",
  };
  const directory = JSON.stringify({ keys: [{ kty: "OKP", crv: "Ed25519", x: TEST_KEY_X }] });
  const fetched: string[] = [];
  const verifier = (nowSeconds: number) =>
    createWebBotAuthVerifier({
      now: () => nowSeconds * 1000,
      fetch: async (url) => {
        fetched.push(url);
        return new Response(directory, {
          headers: { "content-type": "application/http-message-signatures-directory+json" },
        });
      },
    });

  it("should read its signature metadata", () => {
    const read = readSignature(new Headers(headers));
    expect(read.type === "signed" && read.input).toMatchObject({
      label: "sig1",
      keyid: TEST_KEY_THUMBPRINT,
      created: 1749332605,
      expires: 1749332615,
    });
  });

  it("should verify it end to end within its validity, fetching the named directory", async () => {
    const result = await verifier(1749332610).verify(
      new Request("https://example.com/", { headers }),
    );
    expect(result).toMatchObject({
      status: "verified",
      keyid: TEST_KEY_THUMBPRINT,
      directory: "https://myexample.com/.well-known/http-message-signatures-directory",
    });
    expect(fetched).toContain(
      "https://myexample.com/.well-known/http-message-signatures-directory",
    );
  });

  it("should refuse it once it has expired", async () => {
    const result = await verifier(1749332615 + 3600).verify(
      new Request("https://example.com/", { headers }),
    );
    expect(result).toEqual({ status: "invalid", reason: "the signature has expired" });
  });

  it("should refuse it for another authority", async () => {
    const result = await verifier(1749332610).verify(
      new Request("https://example.org/", { headers }),
    );
    expect(result).toMatchObject({
      status: "invalid",
      reason: "the signature does not match the request",
    });
  });
});
