import {
  createExecutionContext,
  env,
  listDurableObjectIds,
  runDurableObjectAlarm,
  runInDurableObject,
  SELF,
  waitOnExecutionContext,
} from "cloudflare:test";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { issueNonce } from "../../src/sessions/nonce";
import { siweMessage } from "../../src/sessions/siwe";
import type { PayerSessions } from "../../src/sessions";
import worker from "../../src/worker";
import { admin } from "./admin-helpers";
import {
  PAYER,
  SESSION_HOST,
  call,
  decodeHeader,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Sessions inside workerd with the real local Durable Objects: tokens and cookies, scope and
 * price binding, exact use counts under concurrency, expiry, revocation, SIWx proofs and the
 * admin API. The facilitator and origin are the fakes of test/support/fakes.ts.
 */

const BASE = `https://${SESSION_HOST}`;
const PAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SECRET = "workers-test-session-secret-0123456789";

/** The `SESSIONS` namespace of the test env (wrangler.toml binds it). */
function sessions(): NonNullable<typeof env.SESSIONS> {
  if (!env.SESSIONS) throw new Error("SESSIONS is not bound");
  return env.SESSIONS;
}

beforeEach(async () => {
  await putTable();
});

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return call(new Request(`${BASE}${path}`, { headers }));
}

/** Pays for `path` through the fake facilitator and returns the paid response. */
async function buy(path: string): Promise<{ response: Response; token: string; nonce: string }> {
  const challenge = await get(path);
  expect(challenge.status).toBe(402);
  const payment = paymentFor(challenge);
  const response = await get(path, { "PAYMENT-SIGNATURE": payment.header });
  expect(response.status).toBe(200);
  const token = response.headers.get("PAYMENT-SESSION");
  expect(token).toMatch(/^x402s1\.[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
  return { response, token: token!, nonce: payment.nonce };
}

async function reasonOf(response: Response): Promise<string> {
  expect(response.status).toBe(402);
  return decodeHeader<{ error?: string }>(response.headers.get("PAYMENT-REQUIRED")).error ?? "";
}

describe("session tokens", () => {
  it("should serve the paid uses with no facilitator call, then ask for payment", async () => {
    const id = unique();
    const { response, token, nonce } = await buy(`/pass/${id}`);
    expect(response.headers.get("PAYMENT-SESSION-REMAINING")).toBe("2");
    expect(Date.parse(response.headers.get("PAYMENT-SESSION-EXPIRES")!)).toBeGreaterThan(
      Date.now() + 3500_000,
    );
    const afterPaying = await facilitatorCalls(nonce);
    expect(afterPaying.map((c) => c.op)).toEqual(["verify", "settle"]);

    for (const remaining of ["1", "0"]) {
      const used = await get(`/pass/${id}/more`, { "PAYMENT-SESSION": token });
      expect(used.status).toBe(200);
      expect(used.headers.get("PAYMENT-SESSION-REMAINING")).toBe(remaining);
      expect(used.headers.get("PAYMENT-RESPONSE")).toBeNull();
      expect(used.headers.get("Cache-Control")).toBe("private");
    }
    expect(await facilitatorCalls(nonce)).toHaveLength(2);
    expect(await originSaw(`/pass/${id}/more`)).toBe(2);
    expect(await reasonOf(await get(`/pass/${id}/more`, { "PAYMENT-SESSION": token }))).toContain(
      "no uses left",
    );
    expect(await originSaw(`/pass/${id}/more`)).toBe(2);
  });

  it("should accept the token from its cookie and never pass it to the origin", async () => {
    const id = unique();
    const { response, token } = await buy(`/pass/${id}`);
    const cookie = response.headers.get("Set-Cookie")!;
    expect(cookie).toMatch(/^x402-session-[0-9a-f]{8}=x402s1\..+; Path=\/; HttpOnly; Secure/);
    expect(cookie).toContain("SameSite=Lax");
    const pair = cookie.split(";")[0]!;
    const used = await get(`/pass/${id}`, { Cookie: `theme=dark; ${pair}` });
    expect(used.status).toBe(200);
    const echo = (await used.json()) as { headers: Record<string, string> };
    expect(echo.headers["cookie"]).toBe("theme=dark");
    expect(echo.headers["payment-session"]).toBeUndefined();
    expect(echo.headers["x-payer"]).toBe(PAYER);
    const viaHeader = await get(`/pass/${id}`, { "PAYMENT-SESSION": token });
    const echoed = (await viaHeader.json()) as { headers: Record<string, string> };
    expect(echoed.headers["payment-session"]).toBeUndefined();
  });

  it.each([
    ["a flipped secret character", (t: string) => t.slice(0, -1) + (t.endsWith("A") ? "B" : "A")],
    ["another object's id", (t: string) => t.replace(/\.[0-9a-f]{64}\./, `.${"0".repeat(64)}.`)],
    ["a malformed token", () => "not-a-token"],
    ["an empty secret", (t: string) => t.replace(/\.[^.]+$/, ".")],
  ])("should refuse a token with %s and let nothing through", async (_, tamper) => {
    const id = unique();
    const { token } = await buy(`/pass/${id}`);
    const refused = await get(`/pass/${id}/x`, { "PAYMENT-SESSION": tamper(token) });
    expect(await reasonOf(refused)).toMatch(/session token is (not valid|malformed)/);
    expect(await originSaw(`/pass/${id}/x`)).toBe(0);
  });

  it("should never open a dearer route of the same group, nor another rule", async () => {
    const id = unique();
    const { token } = await buy(`/group/cheap/${id}`);
    expect((await get(`/group/cheap/${id}/b`, { "PAYMENT-SESSION": token })).status).toBe(200);
    const dear = await get(`/group/dear/${id}`, { "PAYMENT-SESSION": token });
    expect(await reasonOf(dear)).toContain(
      "bought for 10000 atomic units, this route costs 250000",
    );
    const other = await get(`/pass/${id}`, { "PAYMENT-SESSION": token });
    expect(await reasonOf(other)).toContain("another scope");
    expect(await originSaw(`/group/dear/${id}`)).toBe(0);
    expect(await originSaw(`/pass/${id}`)).toBe(0);
  });

  it("should open only the path paid for on a resource-scoped rule", async () => {
    const id = unique();
    const { token } = await buy(`/one/${id}`);
    expect((await get(`/ONE/${id}/`, { "PAYMENT-SESSION": token })).status).toBe(200);
    expect(await reasonOf(await get(`/one/${id}x`, { "PAYMENT-SESSION": token }))).toContain(
      "another scope",
    );
  });

  it("should let exactly 10 of 50 concurrent requests use a token with 10 uses left", async () => {
    const id = unique();
    const { response, token } = await buy(`/burst/${id}`);
    expect(response.headers.get("PAYMENT-SESSION-REMAINING")).toBe("10");
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => get(`/burst/${id}/c`, { "PAYMENT-SESSION": token })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 402)).toHaveLength(40);
    const remaining = answers
      .map((a) => a.headers.get("PAYMENT-SESSION-REMAINING"))
      .filter(Boolean);
    expect(remaining.sort()).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(await originSaw(`/burst/${id}/c`)).toBe(10);
  });

  it("should serve exactly the paid uses to a token used in quick succession (leases included)", async () => {
    const id = unique();
    const { token } = await buy(`/burst/${id}`);
    const contexts: ExecutionContext[] = [];
    const remaining: string[] = [];
    let refused = 0;
    for (let i = 0; i < 14; i++) {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const request = new Request(`${BASE}/burst/${id}/q`, {
        headers: { "PAYMENT-SESSION": token },
      });
      const answer = await worker.fetch(request, env, ctx);
      if (answer.status === 200) remaining.push(answer.headers.get("PAYMENT-SESSION-REMAINING")!);
      else refused += 1;
    }
    expect(remaining).toEqual(["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]);
    expect(refused).toBe(4);
    expect(await originSaw(`/burst/${id}/q`)).toBe(10);
    // Leases ended: nothing left to give back, nothing more to spend.
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    expect(await reasonOf(await get(`/burst/${id}/q`, { "PAYMENT-SESSION": token }))).toContain(
      "no uses left",
    );
  });

  it("should give leased uses a request did not need back to the store when the lease ends", async () => {
    const id = unique();
    const { token } = await buy(`/burst/${id}`);
    const contexts: ExecutionContext[] = [];
    for (let i = 0; i < 2; i++) {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const request = new Request(`${BASE}/burst/${id}`, { headers: { "PAYMENT-SESSION": token } });
      expect((await worker.fetch(request, env, ctx)).status).toBe(200);
    }
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    const objectId = sessions().idFromString(token.split(".")[1]!);
    const left = await runInDurableObject(sessions().get(objectId), (instance: PayerSessions) =>
      instance.list(),
    );
    // 10 left after the purchase, 2 used: the second took one more as a lease, given back.
    expect(left[0]?.remaining).toBe(8);
  });

  it("should let exactly 10 of 30 concurrent requests in, each in its own request context (regression: requests waiting on one shared store call were cancelled as hung)", async () => {
    const id = unique();
    const { token } = await buy(`/burst/${id}`);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        SELF.fetch(`${BASE}/burst/${id}/s`, { headers: { "PAYMENT-SESSION": token } }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 402)).toHaveLength(20);
    expect(await originSaw(`/burst/${id}/s`)).toBe(10);
  });

  it("should give a use back when the origin fails the request", async () => {
    const { token } = await buy(`/status/200/${unique()}`);
    const failed = await get(`/status/503/${unique()}`, { "PAYMENT-SESSION": token });
    expect(failed.status).toBe(503);
    const next = await get(`/status/200/${unique()}`, { "PAYMENT-SESSION": token });
    expect(next.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
  });

  it("should refuse a token after its time runs out", async () => {
    const id = unique();
    const { token } = await buy(`/brief/${id}`);
    expect((await get(`/brief/${id}`, { "PAYMENT-SESSION": token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await reasonOf(await get(`/brief/${id}`, { "PAYMENT-SESSION": token }))).toMatch(
      /expired|not valid/,
    );
  });

  it("should answer 503, not serve, when the session store cannot be reached", async () => {
    const id = unique();
    const { token } = await buy(`/pass/${id}`);
    const down = () => Promise.reject(new Error("storage down"));
    const broken = {
      idFromName: (name: string) => sessions().idFromName(name),
      idFromString: (hex: string) => sessions().idFromString(hex),
      get: () => ({ useToken: down, signIn: down, grant: down, catchUp: down }),
    } as unknown as typeof env.SESSIONS;
    // Not waiting for the work after the answer: it retries the store for seconds.
    const response = await worker.fetch(
      new Request(`${BASE}/pass/${id}`, { headers: { "PAYMENT-SESSION": token } }),
      { ...env, SESSIONS: broken },
      createExecutionContext(),
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe("session_store_unavailable");
    expect(await originSaw(`/pass/${id}`)).toBe(1);
  });

  it("should refuse to sell sessions, rather than sell requests, without SESSION_SECRET", async () => {
    const response = await call(new Request(`${BASE}/pass/${unique()}`), {
      SESSION_SECRET: "",
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe("misconfigured");
  });
});

/** Builds and signs a SIWx proof from a 402's challenge, as the official client hook does. */
async function prove(
  challenge: Response,
  options: {
    key?: `0x${string}`;
    address?: string;
    change?: (p: Record<string, unknown>) => void;
  } = {},
): Promise<string> {
  const required = decodeHeader<{
    extensions: {
      "sign-in-with-x": {
        info: Record<string, string>;
        supportedChains: Array<{ chainId: string }>;
      };
    };
  }>(challenge.headers.get("PAYMENT-REQUIRED"));
  const extension = required.extensions["sign-in-with-x"];
  const account = privateKeyToAccount(options.key ?? PAYER_KEY);
  const proof: Record<string, unknown> = {
    ...extension.info,
    address: options.address ?? account.address,
    chainId: extension.supportedChains[0]!.chainId,
    type: "eip191",
  };
  options.change?.(proof);
  const fields = proof as unknown as Parameters<typeof siweMessage>[0];
  const chainId = Number(String(proof["chainId"]).split(":")[1]);
  const message = siweMessage({ ...fields, chainId });
  proof["signature"] = await account.signMessage({ message });
  return btoa(JSON.stringify(proof));
}

describe("sign-in-with-x", () => {
  it("should declare a server-issued nonce bound to the route in every session 402", async () => {
    const first = await get(`/pass/${unique()}`);
    const second = await get(`/pass/${unique()}`);
    const info = (r: Response) =>
      decodeHeader<{ extensions: { "sign-in-with-x": { info: Record<string, string> } } }>(
        r.headers.get("PAYMENT-REQUIRED"),
      ).extensions["sign-in-with-x"].info;
    expect(info(first).nonce).toMatch(/^[0-9a-f]{96}$/);
    expect(info(first).nonce).not.toBe(info(second).nonce);
    expect(info(first).domain).toBe(SESSION_HOST);
    const plain = await call(new Request("https://paywall.test/api/x"));
    const extensions = decodeHeader(plain.headers.get("PAYMENT-REQUIRED"))["extensions"];
    expect(extensions).not.toHaveProperty("sign-in-with-x");
  });

  it("should let a payer in once per proof, with a fresh token", async () => {
    const id = unique();
    await buy(`/pass/${id}`);
    const proof = await prove(await get(`/pass/${id}/again`));
    const signedIn = await get(`/pass/${id}/again`, { "SIGN-IN-WITH-X": proof });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get("PAYMENT-SESSION")).toMatch(/^x402s1\./);
    expect(signedIn.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
    const replayed = await get(`/pass/${id}/again`, { "SIGN-IN-WITH-X": proof });
    expect(await reasonOf(replayed)).toContain("already used");
    expect(await originSaw(`/pass/${id}/again`)).toBe(1);
  });

  it.each([
    ["a wallet that never paid", { key: generatePrivateKey() }, "holds no live session"],
    [
      "a signature by another key",
      { key: generatePrivateKey(), address: PAYER },
      "not made by its address",
    ],
    [
      "a nonce the paywall never issued",
      { change: (p: Record<string, unknown>) => (p["nonce"] = "ab".repeat(48)) },
      "not issued by this paywall",
    ],
    [
      "another domain",
      { change: (p: Record<string, unknown>) => (p["domain"] = "evil.test") },
      "domain evil.test",
    ],
    [
      "another chain",
      { change: (p: Record<string, unknown>) => (p["chainId"] = "eip155:1") },
      "chain eip155:1",
    ],
  ])("should refuse a proof from %s", async (_, options, reason) => {
    const id = unique();
    await buy(`/pass/${id}`);
    const proof = await prove(await get(`/pass/${id}/p`), options);
    expect(await reasonOf(await get(`/pass/${id}/p`, { "SIGN-IN-WITH-X": proof }))).toContain(
      reason,
    );
    expect(await originSaw(`/pass/${id}/p`)).toBe(0);
  });

  it("should refuse a nonce issued for another route, or expired", async () => {
    const id = unique();
    await buy(`/pass/${id}`);
    const elsewhere = await prove(await get(`/group/cheap/${id}`));
    const moved = await get(`/pass/${id}/p`, { "SIGN-IN-WITH-X": elsewhere });
    expect(await reasonOf(moved)).toContain("not issued by this paywall for this resource");

    const scope = `route:${SESSION_HOST} ${SESSION_HOST} * /pass/*`;
    const old = await issueNonce(SECRET, `${SESSION_HOST}\n${scope}`, 1000, Date.now() - 60_000);
    const stale = await prove(await get(`/pass/${id}/p`), {
      change: (p) => (p["nonce"] = old),
    });
    expect(await reasonOf(await get(`/pass/${id}/p`, { "SIGN-IN-WITH-X": stale }))).toContain(
      "expired",
    );
    expect(await originSaw(`/pass/${id}/p`)).toBe(0);
  });

  it("should refuse a malformed SIGN-IN-WITH-X header with the field at fault", async () => {
    const response = await get(`/pass/${unique()}`, {
      "SIGN-IN-WITH-X": btoa(JSON.stringify({ domain: SESSION_HOST })),
    });
    expect(await reasonOf(response)).toMatch(/not a valid proof: \w+/);
  });
});

describe("admin API for sessions", () => {
  it("should refuse calls without the admin token, or with a wrong one", async () => {
    expect((await admin(`/sessions?payer=${PAYER}`, {}, "")).status).toBe(401);
    expect((await admin(`/sessions?payer=${PAYER}`, {}, "wrong")).status).toBe(401);
    const off = await call(new Request(`${BASE}/__x402/admin/sessions?payer=${PAYER}`), {
      ADMIN_TOKEN: "",
    });
    expect(off.status).toBe(403);
  });

  it("should list a payer's entitlements and revoke them with their tokens", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/pass/${unique()}`;
    const challenge = await get(path);
    const payment = paymentFor(challenge, (p) => {
      (p["payload"] as { authorization: { from: string } }).authorization.from = wallet;
    });
    const paid = await get(path, { "PAYMENT-SIGNATURE": payment.header });
    expect(paid.status).toBe(200);
    const token = paid.headers.get("PAYMENT-SESSION")!;

    const listed = await admin(`/sessions?payer=${wallet}`);
    const body = (await listed.json()) as { entitlements: Array<Record<string, unknown>> };
    expect(body.entitlements).toHaveLength(1);
    expect(body.entitlements[0]).toMatchObject({ amount: "10000", remaining: 2, tokens: 1 });

    const revoke = await admin("/sessions/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ payer: wallet }),
    });
    expect(await revoke.json()).toEqual({ revoked: 1 });
    expect(await reasonOf(await get(path, { "PAYMENT-SESSION": token }))).toContain("not valid");
  });

  it("should list sessions with ISO dates like every other admin call, not epoch milliseconds", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/pass/${unique()}`;
    const challenge = await get(path);
    const payment = paymentFor(challenge, (p) => {
      (p["payload"] as { authorization: { from: string } }).authorization.from = wallet;
    });
    expect((await get(path, { "PAYMENT-SIGNATURE": payment.header })).status).toBe(200);
    const listed = await admin(`/sessions?payer=${wallet}`);
    const body = (await listed.json()) as {
      entitlements: Array<{ createdAt: unknown; expiresAt: unknown }>;
    };
    const [entitlement] = body.entitlements;
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    expect(entitlement?.createdAt).toMatch(iso);
    expect(Math.abs(Date.parse(String(entitlement?.createdAt)) - Date.now())).toBeLessThan(60_000);
    expect(entitlement?.expiresAt === null || iso.test(String(entitlement?.expiresAt))).toBe(true);
  });

  it("should refuse a time-limited token at once once revoked, though it was just used (regression: served from isolate memory)", async () => {
    const path = `/one/${unique()}`;
    const { token } = await buy(path);
    expect((await get(path, { "PAYMENT-SESSION": token })).status).toBe(200);
    expect((await get(path, { "PAYMENT-SESSION": token })).status).toBe(200);
    const revoke = await admin("/sessions/revoke", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    expect(await revoke.json()).toEqual({ revoked: 1 });
    expect(await reasonOf(await get(path, { "PAYMENT-SESSION": token }))).toContain("not valid");
  });

  it("should list sessions with ISO dates like every other admin call, not epoch milliseconds", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/pass/${unique()}`;
    const challenge = await get(path);
    const payment = paymentFor(challenge, (p) => {
      (p["payload"] as { authorization: { from: string } }).authorization.from = wallet;
    });
    expect((await get(path, { "PAYMENT-SIGNATURE": payment.header })).status).toBe(200);
    const listed = await admin(`/sessions?payer=${wallet}`);
    const body = (await listed.json()) as {
      entitlements: Array<{ createdAt: unknown; expiresAt: unknown }>;
    };
    const [entitlement] = body.entitlements;
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    expect(entitlement?.createdAt).toMatch(iso);
    expect(Math.abs(Date.parse(String(entitlement?.createdAt)) - Date.now())).toBeLessThan(60_000);
    expect(entitlement?.expiresAt === null || iso.test(String(entitlement?.expiresAt))).toBe(true);
  });

  it("should answer bad input with a 400 and its reason", async () => {
    const bad = await admin("/sessions/revoke", { method: "POST", body: "{not json" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("token");
    expect((await admin("/sessions?payer=nobody")).status).toBe(400);
    expect((await admin("/nothing-here")).status).toBe(404);
  });
});

describe("session storage", () => {
  it("should purge expired entitlements, their tokens and used nonces on its alarm", async () => {
    const id = unique();
    const { token } = await buy(`/brief/${id}`);
    const objectId = sessions().idFromString(token.split(".")[1]!);
    const stub = sessions().get(objectId);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const ran = await runDurableObjectAlarm(stub);
    expect(ran).toBe(true);
    const left = await runInDurableObject(stub, (_: PayerSessions, state) => {
      const count = (query: string) =>
        state.storage.sql.exec<{ n: number }>(query, Date.now()).one().n;
      return {
        expired: count("SELECT COUNT(*) AS n FROM entitlements WHERE expires_at <= ?"),
        orphanTokens: count(
          "SELECT COUNT(*) AS n FROM tokens WHERE entitlement NOT IN (SELECT id FROM entitlements) AND ? > 0",
        ),
        staleNonces: count("SELECT COUNT(*) AS n FROM nonces WHERE expires_at <= ?"),
      };
    });
    expect(left).toEqual({ expired: 0, orphanTokens: 0, staleNonces: 0 });
    expect(await reasonOf(await get(`/brief/${id}`, { "PAYMENT-SESSION": token }))).toContain(
      "not valid",
    );
    expect((await listDurableObjectIds(sessions())).length).toBeGreaterThan(0);
  });
});

/**
 * The `SESSIONS` namespace as another isolate sees it: its own object, so its own memory (leases,
 * owed writes). `fails(method)` makes a call of that method throw before it reaches the store.
 */
function anotherIsolate(fails: (method: string) => boolean = () => false) {
  const namespace = sessions();
  return {
    idFromName: (name: string) => namespace.idFromName(name),
    idFromString: (hex: string) => namespace.idFromString(hex),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id) as unknown as Record<string, (...a: unknown[]) => unknown>;
      return new Proxy(
        {},
        {
          get:
            (_, name) =>
            (...args: unknown[]) =>
              fails(String(name))
                ? Promise.reject(new Error(`injected fault in ${String(name)}`))
                : stub[String(name)]!(...args),
        },
      );
    },
  } as unknown as typeof env.SESSIONS;
}

/** Fails the first `n` calls of the given methods. */
function failFirst(n: number, methods: string[]) {
  let left = n;
  return (method: string) => methods.includes(method) && left-- > 0;
}

describe("what a payer paid for, under store faults and other isolates", () => {
  it("should answer 503 with Retry-After, never 402, to another isolate while a pass's last uses are leased to one (regression: the client paid twice)", async () => {
    const id = unique();
    const { token } = await buy(`/burst/${id}`);
    const contexts: ExecutionContext[] = [];
    const inA = async (path: string) => {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const request = new Request(`${BASE}${path}`, { headers: { "PAYMENT-SESSION": token } });
      return worker.fetch(request, env, ctx);
    };
    // One isolate sees the token used often: after 8 requests it leases the 2 uses left.
    for (let i = 0; i < 8; i++) expect((await inA(`/burst/${id}/a`)).status).toBe(200);

    const other = anotherIsolate();
    const elsewhere = await call(
      new Request(`${BASE}/burst/${id}/b`, { headers: { "PAYMENT-SESSION": token } }),
      { SESSIONS: other },
    );
    expect(elsewhere.status).toBe(503);
    expect(elsewhere.headers.get("Retry-After")).toBe("2");
    expect(elsewhere.headers.get("PAYMENT-REQUIRED")).toBeNull();
    expect(((await elsewhere.json()) as { message: string }).message).toContain("retry");
    expect(await originSaw(`/burst/${id}/b`)).toBe(0);

    // The lease ends unspent: its uses come back and the other isolate is served.
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    const retried = await call(
      new Request(`${BASE}/burst/${id}/b`, { headers: { "PAYMENT-SESSION": token } }),
      { SESSIONS: other },
    );
    expect(retried.status).toBe(200);
    expect(retried.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
    expect(await originSaw(`/burst/${id}/a`)).toBe(8);
    expect(await originSaw(`/burst/${id}/b`)).toBe(1);
  });

  it("should answer 402 in the isolate whose own lease is spent, and then everywhere", async () => {
    const id = unique();
    const { token } = await buy(`/burst/${id}`);
    const contexts: ExecutionContext[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const request = new Request(`${BASE}/burst/${id}`, { headers: { "PAYMENT-SESSION": token } });
      statuses.push((await worker.fetch(request, env, ctx)).status);
    }
    expect(statuses).toEqual([...Array(10).fill(200), 402]);
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    const other = await call(
      new Request(`${BASE}/burst/${id}`, { headers: { "PAYMENT-SESSION": token } }),
      { SESSIONS: anotherIsolate() },
    );
    expect(await reasonOf(other)).toContain("no uses left");
  });

  it("should give a use back once the store takes the refund it could not take at first (regression: only logged, the payer lost the use)", async () => {
    const { token } = await buy(`/status/200/${unique()}`);
    const flaky = anotherIsolate(failFirst(1, ["refund", "catchUp"]));
    const failed = await call(
      new Request(`${BASE}/status/503/${unique()}`, { headers: { "PAYMENT-SESSION": token } }),
      { SESSIONS: flaky },
    );
    expect(failed.status).toBe(503);
    const next = await get(`/status/200/${unique()}`, { "PAYMENT-SESSION": token });
    expect(next.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
    const last = await get(`/status/200/${unique()}`, { "PAYMENT-SESSION": token });
    expect(last.headers.get("PAYMENT-SESSION-REMAINING")).toBe("0");
    expect(await reasonOf(await get(`/status/200/x`, { "PAYMENT-SESSION": token }))).toContain(
      "no uses left",
    );
  });

  it("should give the payer its token when the store could not record the pass at first, and record it after the answer (regression: the payer lost the pass)", async () => {
    const id = unique();
    const payer = sessions().get(sessions().idFromName(`payer:${PAYER.toLowerCase()}`));
    const count = () => runInDurableObject(payer, (instance: PayerSessions) => instance.list());
    const before = (await count()).length;
    const challenge = await get(`/pass/${id}`);
    const payment = paymentFor(challenge);
    const paid = await call(
      new Request(`${BASE}/pass/${id}`, { headers: { "PAYMENT-SIGNATURE": payment.header } }),
      { SESSIONS: anotherIsolate(failFirst(1, ["grant"])) },
    );
    expect(paid.status).toBe(200);
    const token = paid.headers.get("PAYMENT-SESSION");
    expect(token).toMatch(/^x402s1\./);
    expect(paid.headers.get("PAYMENT-SESSION-REMAINING")).toBe("2");
    for (const remaining of ["1", "0"]) {
      const used = await get(`/pass/${id}/more`, { "PAYMENT-SESSION": token! });
      expect(used.status).toBe(200);
      expect(used.headers.get("PAYMENT-SESSION-REMAINING")).toBe(remaining);
    }
    expect((await facilitatorCalls(payment.nonce)).map((c) => c.op)).toEqual(["verify", "settle"]);
    // One pass for one payment: the retried grant recorded it once.
    expect((await count()).length).toBe(before + 1);
  });
});
