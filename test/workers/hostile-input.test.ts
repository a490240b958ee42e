import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { cookieName } from "../../src/sessions/carrier";
import { siweMessage } from "../../src/sessions/siwe";
import { tally } from "../support/tally";
import { crawlTable, crawlerKeys, signedRequest } from "./crawler-helpers";
import type { Signed } from "./crawler-helpers";
import {
  PAYER,
  SESSION_HOST,
  call,
  decodeHeader,
  facilitator,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * The hostile-input catalogue: malformed, oversized, duplicated and tampered payments, session
 * tokens, sign-in proofs and crawler signatures, each sent to a priced route inside workerd.
 * Every case must get a 4xx with a reason, cause no facilitator call (so nothing can settle:
 * each case runs under its own fake-facilitator mode and checks that mode's call log is empty)
 * and never reach the origin. Cases whose refusal needs real signatures and a real chain
 * (expired authorizations, other keys, other chains) are in test/e2e/faults.test.ts.
 */

const BASE = "https://paywall.test";
const SESSIONS = `https://${SESSION_HOST}`;
const PAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const OTHER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
/** The scope of the test table's `/pass/*` rule (see helpers.ts), which names its cookie. */
const PASS_SCOPE = `route:${SESSION_HOST} ${SESSION_HOST} * /pass/*`;

const cases = tally("hostile input (workerd)");
afterAll(() => cases.report());

beforeEach(async () => {
  await putTable();
});

type Json = Record<string, unknown>;
type Build = (challenge: Response) => HeadersInit;

const b64 = (value: unknown) => btoa(typeof value === "string" ? value : JSON.stringify(value));
const b64url = (value: unknown) =>
  b64(value).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const accepted = (p: Json) => p["accepted"] as Json;
const authorization = (p: Json) => (p["payload"] as Json)["authorization"] as Json;

/** A V2 payment for the challenge, changed by `change`. */
const v2 =
  (change: (p: Json) => void): Build =>
  (challenge) => ({ "PAYMENT-SIGNATURE": paymentFor(challenge, change).header });

/** The same payment in V1 form (`X-PAYMENT`), changed by `change`. */
const v1 =
  (change: (p: Json) => void = () => {}): Build =>
  (challenge) => {
    const p = decodeHeader<Json>(paymentFor(challenge).header);
    const payment: Json = {
      x402Version: 1,
      scheme: "exact",
      network: "base-sepolia",
      payload: p["payload"],
    };
    change(payment);
    return { "X-PAYMENT": b64(payment) };
  };

const raw =
  (value: string, name = "PAYMENT-SIGNATURE"): Build =>
  () => ({ [name]: value });

/** Why a 4xx was given: the 402's `error`, or the JSON error's code and message. */
async function reasonOf(response: Response): Promise<string> {
  if (response.status === 402) {
    return decodeHeader<{ error?: string }>(response.headers.get("PAYMENT-REQUIRED")).error ?? "";
  }
  const body = (await response.json()) as { error?: string; message?: string };
  return `${body.error ?? ""}: ${body.message ?? ""}`;
}

async function facilitatorCallsUnder(mode: string): Promise<unknown[]> {
  const response = await fetch(`${inject("facilitatorBase")}/__calls?mode=${mode}`);
  return (await response.json()) as unknown[];
}

/**
 * Sends the request `build` makes for `path` (after fetching its 402) and checks the invariants:
 * the expected 4xx, a reason matching `reason`, no receipt, no facilitator call, no origin hit.
 */
async function attack(
  path: string,
  build: Build,
  status: number,
  reason: RegExp,
  base = BASE,
): Promise<void> {
  const mode = `hostile-${unique()}`;
  const challenge = await call(new Request(`${base}${path}`));
  expect(challenge.status).toBe(402);
  const response = await call(new Request(`${base}${path}`, { headers: build(challenge) }), {
    FACILITATOR_URLS: facilitator(mode),
  });
  expect(response.status).toBe(status);
  expect(await reasonOf(response)).toMatch(reason);
  expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
  expect(response.headers.get("X-PAYMENT-RESPONSE")).toBeNull();
  expect(await facilitatorCallsUnder(mode)).toEqual([]);
  expect(await originSaw(path)).toBe(0);
}

describe("malformed payment headers", () => {
  const HUGE = "9".repeat(80);
  it.each<[string, Build, RegExp]>([
    ["an oversized header", raw("A".repeat(17 * 1024)), /larger than/],
    [
      "PAYMENT-SIGNATURE sent twice",
      (c) => {
        const { header } = paymentFor(c);
        return [
          ["PAYMENT-SIGNATURE", header],
          ["PAYMENT-SIGNATURE", header],
        ];
      },
      /more than once/,
    ],
    [
      "X-PAYMENT sent twice",
      (c) => {
        const header = new Headers(v1()(c)).get("X-PAYMENT")!;
        return [
          ["X-PAYMENT", header],
          ["X-PAYMENT", header],
        ];
      },
      /more than once/,
    ],
    [
      "V2 and V1 headers together",
      (c) => ({ ...(v2(() => {})(c) as Json), ...(v1()(c) as Json) }) as HeadersInit,
      /not both/,
    ],
    ["an empty header", raw(""), /not base64/],
    ["characters outside base64", raw("!!!!****"), /not base64/],
    ["base64 broken by a space", raw("eyJ4NDAy IjoyfQ=="), /not base64/],
    ["padding in the middle", raw("eyJ4==NDAyIjoyfQ"), /base64/],
    ["base64url of a JSON array", raw(b64url([{ x402Version: 2 }])), /x402Version 2/],
    ["base64 of plain text", raw(b64("hello, paywall")), /JSON/],
    ["truncated JSON", raw(b64('{"x402Version":2,"accepted":')), /JSON/],
    ["JSON null", raw(b64("null")), /x402Version 2/],
    ["a JSON number", raw(b64("2")), /x402Version 2/],
    ["a JSON string", raw(b64('"x402"')), /x402Version 2/],
    ["deeply nested JSON", raw(b64("[".repeat(4000) + "]".repeat(4000))), /nested deeper/],
    ["x402Version 1 in PAYMENT-SIGNATURE", v2((p) => (p["x402Version"] = 1)), /x402Version 2/],
    ["x402Version 3", v2((p) => (p["x402Version"] = 3)), /x402Version 2/],
    ["x402Version as a string", v2((p) => (p["x402Version"] = "2")), /x402Version 2/],
    ["x402Version 2.5", v2((p) => (p["x402Version"] = 2.5)), /x402Version 2/],
    ["a huge x402Version", v2((p) => (p["x402Version"] = Number(HUGE))), /x402Version 2/],
    ["no accepted", v2((p) => delete p["accepted"]), /wrong shape/],
    ["no payload", v2((p) => delete p["payload"]), /wrong shape/],
    ["accepted as an array", v2((p) => (p["accepted"] = [p["accepted"]])), /wrong shape/],
    ["payload as a string", v2((p) => (p["payload"] = "0xdeadbeef")), /wrong shape/],
    ["accepted.amount as a number", v2((p) => (accepted(p)["amount"] = 1000)), /wrong shape/],
    ["accepted.network empty", v2((p) => (accepted(p)["network"] = "")), /wrong shape/],
    ["X-PAYMENT carrying x402Version 2", raw("", "X-PAYMENT"), /not base64/],
    ["X-PAYMENT with x402Version 2", v1((p) => (p["x402Version"] = 2)), /x402Version 1/],
    ["X-PAYMENT without a scheme", v1((p) => delete p["scheme"]), /wrong shape/],
    [
      "an authorization from no address",
      v2((p) => (authorization(p)["from"] = "alice")),
      /from address/,
    ],
    [
      "an authorization nonce that is not 32 bytes",
      v2((p) => (authorization(p)["nonce"] = "0x1234")),
      /nonce/,
    ],
    [
      "a payment-identifier with markup in it",
      v2(
        (p) => (p["extensions"] = { "payment-identifier": { info: { id: "<script>x</script>" } } }),
      ),
      /payment-identifier id must be/,
    ],
    [
      "a __proto__ key instead of accepted.amount",
      (c) => {
        const text = JSON.stringify(decodeHeader<Json>(paymentFor(c).header));
        return {
          "PAYMENT-SIGNATURE": b64(text.replace('"amount":', '"__proto__":{"amount":"1000"},"x":')),
        };
      },
      /wrong shape at accepted.amount/,
    ],
  ])("should answer 400 to %s", async (_name, build, reason) => {
    await cases.run(() => attack(`/api/${unique()}`, build, 400, reason));
  });
});

describe("payment headers too deep or too wide to read", () => {
  const deep = (depth: number) => JSON.parse("[".repeat(depth) + "]".repeat(depth)) as unknown;
  const wide = (keys: number) =>
    Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 0]));

  it.each<[string, Build]>([
    [
      "a valid V2 payment with 5000-deep arrays in extensions",
      v2((p) => (p["extensions"] = { x: { info: deep(5000) } })),
    ],
    [
      "a valid V2 payment with 5000-deep arrays in its payload",
      v2((p) => ((p["payload"] as Json)["extra"] = deep(5000))),
    ],
    [
      "a valid V2 payment with 5000-deep arrays in accepted.extra",
      v2((p) => ((accepted(p)["extra"] as Json)["x"] = deep(5000))),
    ],
    [
      "a valid V1 payment with 5000-deep arrays beside its payload",
      v1((p) => (p["extensions"] = deep(5000))),
    ],
    [
      "a valid V2 payment with a 1200-key object in extensions",
      v2((p) => (p["extensions"] = { x: wide(1200) })),
    ],
  ])("should answer 400 with a reason, never 500, to %s", async (_name, build) => {
    await cases.run(() =>
      attack(`/api/${unique()}`, build, 400, /nested deeper|more than \d+ (keys|values)/),
    );
  });

  it("should refuse a SIGN-IN-WITH-X proof with 2000-deep arrays and serve nothing", async () => {
    await cases.run(() =>
      attack(
        `/pass/${unique()}`,
        () => ({ "SIGN-IN-WITH-X": b64({ domain: SESSION_HOST, resources: [deep(2000)] }) }),
        402,
        /nested deeper/,
        SESSIONS,
      ),
    );
  });
});

describe("payments for other terms", () => {
  const HUGE = "9".repeat(80);
  it.each<[string, Build, RegExp]>([
    ["accepted.scheme upto", v2((p) => (accepted(p)["scheme"] = "upto")), /accepted.scheme/],
    ["accepted.network mainnet", v2((p) => (accepted(p)["network"] = "eip155:1")), /network/],
    [
      "accepted.network on Solana",
      v2((p) => (accepted(p)["network"] = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")),
      /accepted.network/,
    ],
    ["accepted.amount one unit less", v2((p) => (accepted(p)["amount"] = "999")), /amount/],
    ["accepted.amount one unit more", v2((p) => (accepted(p)["amount"] = "1001")), /amount/],
    ["accepted.amount in exponent form", v2((p) => (accepted(p)["amount"] = "1e3")), /amount/],
    ["a negative accepted.amount", v2((p) => (accepted(p)["amount"] = "-1000")), /amount/],
    ["a fractional accepted.amount", v2((p) => (accepted(p)["amount"] = "1000.0")), /amount/],
    ["a huge accepted.amount", v2((p) => (accepted(p)["amount"] = HUGE)), /amount/],
    [
      "accepted.asset in lower case",
      v2((p) => (accepted(p)["asset"] = String(accepted(p)["asset"]).toLowerCase())),
      /accepted.asset/,
    ],
    ["another accepted.asset", v2((p) => (accepted(p)["asset"] = OTHER)), /accepted.asset/],
    ["another accepted.payTo", v2((p) => (accepted(p)["payTo"] = OTHER)), /accepted.payTo/],
    [
      "a longer maxTimeoutSeconds",
      v2((p) => (accepted(p)["maxTimeoutSeconds"] = 86_400)),
      /maxTimeoutSeconds/,
    ],
    [
      "another token name in accepted.extra",
      v2((p) => (accepted(p)["extra"] = { name: "USD Coin", version: "2" })),
      /accepted.extra/,
    ],
    [
      "another token version in accepted.extra",
      v2((p) => (accepted(p)["extra"] = { name: "USDC", version: "1" })),
      /accepted.extra/,
    ],
    [
      "an extra key in accepted.extra",
      v2((p) => (accepted(p)["extra"] = { name: "USDC", version: "2", discount: "100%" })),
      /accepted.extra/,
    ],
    ["a negative authorization value", v2((p) => (authorization(p)["value"] = "-1000")), /value/],
    [
      "a fractional authorization value",
      v2((p) => (authorization(p)["value"] = "1000.5")),
      /value/,
    ],
    ["an authorization value in hex", v2((p) => (authorization(p)["value"] = "0x3e8")), /value/],
    [
      "an authorization value with a space",
      v2((p) => (authorization(p)["value"] = " 1000")),
      /value/,
    ],
    [
      "an authorization value with a leading zero",
      v2((p) => (authorization(p)["value"] = "01000")),
      /value/,
    ],
    ["an authorization value as a number", v2((p) => (authorization(p)["value"] = 1000)), /value/],
    ["a huge authorization value", v2((p) => (authorization(p)["value"] = HUGE)), /value/],
    ["an authorization to another payee", v2((p) => (authorization(p)["to"] = OTHER)), /\.to/],
    ["an authorization without a payee", v2((p) => delete authorization(p)["to"]), /\.to/],
    [
      "no authorization",
      v2((p) => delete (p["payload"] as Json)["authorization"]),
      /authorization is missing/,
    ],
    ["no signature", v2((p) => delete (p["payload"] as Json)["signature"]), /signature/],
    [
      "a signature that is a number",
      v2((p) => ((p["payload"] as Json)["signature"] = 1)),
      /signature/,
    ],
    [
      "a resource on another host",
      v2(
        (p) =>
          ((p["resource"] as Json)["url"] = String((p["resource"] as Json)["url"]).replace(
            "paywall.test",
            "evil.test",
          )),
      ),
      /another resource/,
    ],
    [
      "a resource with another query",
      v2(
        (p) => ((p["resource"] as Json)["url"] = `${String((p["resource"] as Json)["url"])}?all=1`),
      ),
      /another resource/,
    ],
    ["a V1 payment on Base mainnet", v1((p) => (p["network"] = "base")), /network "base"/],
    ["a V1 payment in another scheme", v1((p) => (p["scheme"] = "upto")), /scheme "upto"/],
    [
      "a V1 payment for less",
      v1((p) => (((p["payload"] as Json)["authorization"] as Json)["value"] = "1")),
      /value/,
    ],
  ])("should answer 402 to %s before any facilitator call", async (_name, build, reason) => {
    await cases.run(() => attack(`/api/${unique()}`, build, 402, reason));
  });

  it("should refuse a payment made for one route when replayed on a dearer one", async () => {
    await cases.run(async () => {
      const cheap = await call(new Request(`${BASE}/api/${unique()}`));
      const { header } = paymentFor(cheap, (p) => delete p["resource"]);
      await attack(`/articles/${unique()}`, () => ({ "PAYMENT-SIGNATURE": header }), 402, /amount/);
    });
  });
});

describe("tampered session tokens", () => {
  let bought: { id: string; token: string } | undefined;

  /** One pass, bought once for this describe: `/pass/<id>/*` with 3 uses. */
  async function pass(): Promise<{ id: string; token: string }> {
    if (bought) return bought;
    const id = unique();
    const challenge = await call(new Request(`${SESSIONS}/pass/${id}`));
    const { header } = paymentFor(challenge);
    const paid = await call(
      new Request(`${SESSIONS}/pass/${id}`, { headers: { "PAYMENT-SIGNATURE": header } }),
    );
    expect(paid.status).toBe(200);
    bought = { id, token: paid.headers.get("PAYMENT-SESSION")! };
    return bought;
  }

  const flip = (text: string, at: number) =>
    text.slice(0, at) + (text[at] === "a" ? "b" : "a") + text.slice(at + 1);

  it.each<[string, (token: string) => string, RegExp]>([
    [
      "another version prefix",
      (t) => t.replace("x402s1.", "x402s2."),
      /the session token is malformed/,
    ],
    ["one hex digit of its object id changed", (t) => flip(t, 10), /session/],
    [
      "its object id in upper case",
      (t) => t.replace(/\.([0-9a-f]{64})\./, (_m, id: string) => `.${id.toUpperCase()}.`),
      /session/,
    ],
    ["one character of its secret changed", (t) => flip(t, t.length - 5), /session/],
    ["its secret cut short", (t) => t.slice(0, -1), /session/],
    ["its secret made longer", (t) => `${t}A`, /session/],
    ["a fourth part", (t) => `${t}.x`, /session/],
    [
      "a made-up object id",
      (t) => t.replace(/\.([0-9a-f]{64})\./, `.${"ab".repeat(32)}.`),
      /session/,
    ],
  ])("should refuse a token with %s and serve nothing", async (_name, tamper, reason) => {
    await cases.run(async () => {
      const { id, token } = await pass();
      const bad = tamper(token);
      await attack(
        `/pass/${id}/t-${unique()}`,
        () => ({ "PAYMENT-SESSION": bad }),
        402,
        reason,
        SESSIONS,
      );
    });
  });

  it("should not take a tampered token from its scope's cookie either", async () => {
    await cases.run(async () => {
      const { id, token } = await pass();
      const cookie = `${cookieName(PASS_SCOPE)}=${token.slice(0, -2)}zz`;
      await attack(
        `/pass/${id}/c-${unique()}`,
        () => ({ Cookie: cookie }),
        402,
        /session/,
        SESSIONS,
      );
    });
  });
});

describe("tampered sign-in-with-x proofs", () => {
  let paidId: string | undefined;

  async function paidPass(): Promise<string> {
    if (paidId) return paidId;
    const id = unique();
    const { header } = paymentFor(await call(new Request(`${SESSIONS}/pass/${id}`)));
    const paid = await call(
      new Request(`${SESSIONS}/pass/${id}`, { headers: { "PAYMENT-SIGNATURE": header } }),
    );
    expect(paid.status).toBe(200);
    paidId = id;
    return id;
  }

  /** Signs a proof for the challenge's sign-in offer; `before` changes fields before signing, `after` after. */
  async function proof(
    challenge: Response,
    before: (p: Json) => void = () => {},
    after: (p: Json) => void = () => {},
  ): Promise<string> {
    const required = decodeHeader<{
      extensions: { "sign-in-with-x": { info: Json; supportedChains: Array<{ chainId: string }> } };
    }>(challenge.headers.get("PAYMENT-REQUIRED"));
    const extension = required.extensions["sign-in-with-x"];
    const account = privateKeyToAccount(PAYER_KEY);
    const p: Json = {
      ...extension.info,
      address: account.address,
      chainId: extension.supportedChains[0]!.chainId,
      type: "eip191",
    };
    before(p);
    const chainId = Number(String(p["chainId"]).split(":")[1]);
    const fields = { ...p, chainId } as unknown as Parameters<typeof siweMessage>[0];
    p["signature"] = await account.signMessage({ message: siweMessage(fields) });
    after(p);
    return b64(p);
  }

  const future = () => new Date(Date.now() + 3_600_000).toISOString();
  const past = () => new Date(Date.now() - 3_600_000).toISOString();
  const sig = (p: Json) => String(p["signature"]);

  it.each<[string, (p: Json) => void, (p: Json) => void, RegExp]>([
    ["another uri", (p) => (p["uri"] = "https://evil.test/pass/x"), () => {}, /uri|resource/i],
    [
      "an issuedAt in the future",
      (p) => (p["issuedAt"] = future()),
      () => {},
      /issued|future|time/i,
    ],
    ["an expirationTime in the past", (p) => (p["expirationTime"] = past()), () => {}, /expire/i],
    ["another version", (p) => (p["version"] = "2"), () => {}, /version/i],
    ["another signature type", () => {}, (p) => (p["type"] = "eip1271"), /type|signature/i],
    [
      "one byte of its signature changed",
      () => {},
      (p) =>
        (p["signature"] =
          sig(p).slice(0, 10) + (sig(p)[10] === "0" ? "1" : "0") + sig(p).slice(11)),
      /signature|address/i,
    ],
    ["no signature", () => {}, (p) => delete p["signature"], /signature|valid proof/i],
    [
      "another address after signing",
      () => {},
      (p) => (p["address"] = OTHER),
      /address|signature/i,
    ],
    [
      "another nonce after signing",
      () => {},
      (p) => (p["nonce"] = "cd".repeat(48)),
      /nonce|issued/i,
    ],
    [
      "a statement added after signing",
      () => {},
      (p) => (p["statement"] = "I pay nothing"),
      /signature|address/i,
    ],
    [
      "a proof by a wallet that never paid",
      (p) => (p["address"] = privateKeyToAccount(generatePrivateKey()).address),
      () => {},
      /signature|address|session/i,
    ],
  ])("should refuse a proof with %s", async (_name, before, after, reason) => {
    await cases.run(async () => {
      const id = await paidPass();
      const path = `/pass/${id}/s-${unique()}`;
      const signed = await proof(await call(new Request(`${SESSIONS}${path}`)), before, after);
      await attack(path, () => ({ "SIGN-IN-WITH-X": signed }), 402, reason, SESSIONS);
    });
  });

  it.each<[string, string]>([
    ["not base64", "%%%"],
    ["a JSON array", b64([PAYER])],
    ["JSON of the wrong shape", b64({ domain: SESSION_HOST, address: 42 })],
  ])("should refuse a SIGN-IN-WITH-X header that is %s", async (_name, value) => {
    await cases.run(() =>
      attack(
        `/pass/${unique()}`,
        () => ({ "SIGN-IN-WITH-X": value }),
        402,
        /proof|base64|JSON/,
        SESSIONS,
      ),
    );
  });
});

describe("tampered crawler signatures", () => {
  beforeEach(async () => {
    await putTable(crawlTable());
  });

  /** Signs a request for `path` with devbot's key, then lets `tamper` change its headers. */
  async function tampered(
    path: string,
    tamper: (headers: Headers) => void | Promise<void>,
    options: Signed = {},
  ): Promise<Headers> {
    const request = await signedRequest(path, options);
    const headers = new Headers(request.headers);
    await tamper(headers);
    return headers;
  }

  const input = (h: Headers, from: RegExp, to: string) =>
    h.set("signature-input", h.get("signature-input")!.replace(from, to));
  const now = () => Math.floor(Date.now() / 1000);

  it.each<[string, (h: Headers) => void | Promise<void>, Partial<Signed>]>([
    [
      "its signature bytes changed",
      (h) =>
        h.set(
          "signature",
          h.get("signature")!.replace(/:(.)/, (_m, c: string) => `:${c === "A" ? "B" : "A"}`),
        ),
      {},
    ],
    ["a signature that is not base64", (h) => h.set("signature", "sig1=:!!!!:"), {}],
    [
      "a signature under another label",
      (h) => h.set("signature", h.get("signature")!.replace("sig1=", "sig2=")),
      {},
    ],
    ["its created time moved", (h) => input(h, /created=(\d+)/, `created=${now() - 1}`), {}],
    ["its expiry pushed back", (h) => input(h, /expires=(\d+)/, `expires=${now() + 3000}`), {}],
    ["its nonce changed", (h) => input(h, /nonce="[^"]*"/, 'nonce="replayed"'), {}],
    ["its algorithm changed", (h) => input(h, /alg="ed25519"/, 'alg="rsa-pss-sha512"'), {}],
    [
      "another key's keyid",
      async (h) => input(h, /keyid="[^"]*"/, `keyid="${(await crawlerKeys())[1]!.thumbprint}"`),
      {},
    ],
    ["its tag changed", (h) => input(h, /tag="web-bot-auth"/, 'tag="other"'), {}],
    ["its components cut down", (h) => input(h, /\("@authority" /, "("), {}],
    [
      "Signature-Agent pointing elsewhere after signing",
      (h) => h.set("signature-agent", `"${inject("crawlerDirectories")[1]!}"`),
      {},
    ],
    ["a crawler-max-price added after signing", (h) => h.set("crawler-max-price", "USD 1.00"), {}],
    [
      "a created time in the future",
      () => {},
      { sign: { created: now() + 600, expires: now() + 900 } },
    ],
    ["a lifetime over an hour", () => {}, { sign: { created: now(), expires: now() + 7200 } }],
    [
      "no @authority covered",
      () => {},
      { sign: { components: ["@method", "@path", "signature-agent"] } },
    ],
  ])("should refuse a crawler request with %s", async (_name, tamper, options) => {
    await cases.run(async () => {
      const path = `/articles/${unique()}`;
      const headers = await tampered(path, tamper, options);
      const mode = `hostile-${unique()}`;
      const response = await call(new Request(`${BASE}${path}`, { headers }), {
        FACILITATOR_URLS: facilitator(mode),
      });
      expect(response.status).toBe(400);
      expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
      expect(await response.text()).toMatch(/"message":".+"/);
      expect(response.headers.get("crawler-charged")).toBeNull();
      expect(await facilitatorCallsUnder(mode)).toEqual([]);
      expect(await originSaw(path)).toBe(0);
    });
  });
});
