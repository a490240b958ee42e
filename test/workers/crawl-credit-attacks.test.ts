import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CrawlerCredit, DebitInput } from "../../src/credit";
import { crawl, crawlTable, freshKey, signedRequest } from "./crawler-helpers";
import type { Signed } from "./crawler-helpers";
import {
  PAYER,
  call,
  facilitator,
  facilitatorCalls,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Crawl credit under attack and faults: a copier of a top-up's payment header, and a credit
 * store that fails while a debit is given back.
 */

beforeEach(async () => {
  await putTable(crawlTable());
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Buys `usd` of credit for key `key`; returns the top-up's answer. */
async function topUp(usd: string, options: Signed = {}): Promise<Response> {
  const path = `/__x402/crawl-credit?amount=${usd}`;
  const challenge = await crawl(path, { ...options, method: "POST" });
  expect(challenge.status).toBe(402);
  const { header } = paymentFor(challenge);
  const request = await signedRequest(path, {
    ...options,
    method: "POST",
    headers: { ...options.headers, "payment-signature": header },
  });
  return call(request, { FACILITATOR_URLS: facilitator("ok") });
}

/** What is left after key `key` spends one more USD 0.005 page (null when it could not). */
async function afterOnePage(key: number): Promise<string | null> {
  const page = await crawl(`/blog/${unique()}`, {
    key,
    headers: { "crawler-max-price": "USD 0.005" },
  });
  if (page.status !== 200) return null;
  return page.headers.get("crawler-credit-remaining");
}

type CreditMethod = "topUp" | "debit" | "balance" | "useNonce" | "refund";
type CreditCall = (...args: unknown[]) => Promise<unknown>;

/**
 * `CRAWL_CREDIT` whose objects work, except the methods in `faults`: each is called with the
 * real object's method (`real`) and the call's arguments, and answers in its place.
 */
function creditWith(
  faults: Partial<Record<CreditMethod, (real: CreditCall, ...args: unknown[]) => Promise<unknown>>>,
): DurableObjectNamespace<CrawlerCredit> {
  const namespace = env.CRAWL_CREDIT!;
  const methods: CreditMethod[] = ["topUp", "debit", "balance", "useNonce", "refund"];
  return {
    idFromName: (name: string) => namespace.idFromName(name),
    idFromString: (id: string) => namespace.idFromString(id),
    get: (id: DurableObjectId) => {
      const stub = namespace.get(id) as unknown as Record<CreditMethod, CreditCall>;
      const wrapped = methods.map((method) => {
        const real: CreditCall = (...args) => stub[method](...args);
        const fault = faults[method];
        return [method, fault ? (...args: unknown[]) => fault(real, ...args) : real];
      });
      return Object.fromEntries(wrapped) as Record<CreditMethod, CreditCall>;
    },
  } as unknown as DurableObjectNamespace<CrawlerCredit>;
}

const storeDown = async (): Promise<never> => {
  throw new Error("injected: the credit store could not be reached");
};

/** `CRAWL_CREDIT` whose objects work, except that every debit's answer is lost after it is made. */
function creditLosingDebitAnswers(): DurableObjectNamespace<CrawlerCredit> {
  return creditWith({
    debit: async (real, ...args) => {
      await real(...args);
      throw new Error("injected: the debit's answer was lost");
    },
  });
}

/** `CRAWL_CREDIT` whose objects work, except that crediting a top-up fails. */
function creditWithBrokenTopUp(): DurableObjectNamespace<CrawlerCredit> {
  return creditWith({ topUp: storeDown });
}

/** `CRAWL_CREDIT` whose objects work, except that giving a debit back fails. */
function creditWithBrokenRefund(): DurableObjectNamespace<CrawlerCredit> {
  return creditWith({ refund: storeDown });
}

describe("a copier of a top-up's payment header", () => {
  it("should not credit a pending top-up to another key that sends a copy of its payment", async () => {
    const owner = freshKey();
    const copier = freshKey();
    const path = `/__x402/crawl-credit?amount=0.05`;
    const challenge = await crawl(path, { key: owner, method: "POST" });
    const { header } = paymentFor(challenge);
    const send = async (key: number) =>
      call(
        await signedRequest(path, {
          key,
          method: "POST",
          headers: { "payment-signature": header },
        }),
        { FACILITATOR_URLS: facilitator("settle-lost-once") },
      );
    // The owner's settlement answer is lost: its payment is pending, the owner is told to resend.
    const lost = await send(owner);
    expect(lost.status).toBe(503);
    // Someone who saw the owner's request (a log, an intermediary) sends the same payment, signed
    // with their own key (the signature covers the payment header, as the top-up demands).
    const copied = await send(copier);
    const copiedBody = (await copied.clone().json()) as { keyid?: string; balance?: string };
    // The owner resends as told.
    const resent = await send(owner);
    const resentBody = (await resent.clone().json()) as { keyid?: string; balance?: string };
    // The money was the owner's: the copier's key must not hold it, the owner's must.
    expect({ copied: copied.status, copiedBalance: copiedBody.balance }).not.toMatchObject({
      copied: 200,
      copiedBalance: "USD 0.05",
    });
    expect({ resent: resent.status, balance: resentBody.balance }).toEqual({
      resent: 200,
      balance: "USD 0.05",
    });
  });
});

describe("a credit store that fails while a debit is given back", () => {
  it("should give the debit back once the store is reachable again, not lose it, when the origin failed the page", async () => {
    const key = freshKey();
    expect((await topUp("0.01", { key })).status).toBe(200); // 2 pages at USD 0.005
    const failed = await call(
      await signedRequest(`/status/500/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.005" },
      }),
      { CRAWL_CREDIT: creditWithBrokenRefund() },
    );
    expect(failed.status).toBe(500);
    expect(failed.headers.get("crawler-charged")).toBeNull();
    // The store is reachable again: both pages bought are still there to be read.
    const pages = [];
    for (let i = 0; i < 2; i++) {
      const page = await crawl(`/blog/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.005" },
      });
      pages.push(page.status);
    }
    expect(pages).toEqual([200, 200]);
  });

  it("should not tell a crawler its credit was not charged while the debit stands (origin unreachable)", async () => {
    const key = freshKey();
    expect((await topUp("0.01", { key })).status).toBe(200);
    const unreachable = await call(
      await signedRequest(`/blog/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.005" },
      }),
      { CRAWL_CREDIT: creditWithBrokenRefund(), ORIGIN_URL: "http://127.0.0.1:1" },
    );
    const said = await unreachable.text();
    expect(said).toContain("not charged");
    // It said so: the debit must have come back (USD 0.005 left after one more page).
    expect(await afterOnePage(key)).toBe("USD 0.005");
  });
  it("should say the debit will be given back, never that the credit was not charged, while its refund is owed", async () => {
    const key = freshKey();
    expect((await topUp("0.01", { key })).status).toBe(200);
    const unreachable = await call(
      await signedRequest(`/blog/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.005" },
      }),
      { CRAWL_CREDIT: creditWithBrokenRefund(), ORIGIN_URL: "http://127.0.0.1:1" },
    );
    const said = await unreachable.text();
    expect(said).not.toContain("your credit was not charged");
    expect(said).toContain("will be given back");
    expect(unreachable.headers.get("crawler-charged")).toBeNull();
  });

  it("should say the credit was not charged once the store took the refund (origin unreachable)", async () => {
    const key = freshKey();
    expect((await topUp("0.01", { key })).status).toBe(200);
    const unreachable = await call(
      await signedRequest(`/blog/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.005" },
      }),
      { ORIGIN_URL: "http://127.0.0.1:1" },
    );
    expect(await unreachable.text()).toContain("your credit was not charged");
    expect(await afterOnePage(key)).toBe("USD 0.005");
  });
});

describe("a credit store whose answer to a debit is lost", () => {
  it("should answer 503 without the page and give the debit back, so no credit is spent on it", async () => {
    const key = freshKey();
    expect((await topUp("0.01", { key })).status).toBe(200); // 2 pages at USD 0.005
    const lost = await call(
      await signedRequest(`/blog/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.005" },
      }),
      { CRAWL_CREDIT: creditLosingDebitAnswers() },
    );
    expect(lost.status).toBe(503);
    expect(lost.headers.get("crawler-charged")).toBeNull();
    const said = await lost.text();
    expect(said).not.toContain("nothing was charged");
    expect(said).toContain("will be given back");
    // Both pages bought are still there to be read.
    expect(await afterOnePage(key)).toBe("USD 0.005");
    expect(await afterOnePage(key)).toBe("USD 0.00");
    expect(await afterOnePage(key)).toBeNull();
  });

  it("should never make a debit that arrives at the store after it was given back (its call failed on the way, then landed late)", async () => {
    const key = freshKey();
    expect((await topUp("0.01", { key })).status).toBe(200); // 2 pages at USD 0.005
    const late: unknown[][] = [];
    const failed = await call(
      await signedRequest(`/blog/${unique()}`, {
        key,
        headers: { "crawler-max-price": "USD 0.005" },
      }),
      {
        CRAWL_CREDIT: creditWith({
          debit: async (_real, ...args) => {
            late.push(args);
            throw new Error("injected: the debit's call failed before the store saw it");
          },
        }),
      },
    );
    expect(failed.status).toBe(503);
    // The isolate gave the debit back (after the answer); now the call lands at the store.
    expect(late).toHaveLength(1);
    const [input, refunds] = late[0] as [DebitInput, string[]];
    const stub = env.CRAWL_CREDIT!.get(env.CRAWL_CREDIT!.idFromName(input.keyid));
    const landed = await stub.debit(input, refunds);
    expect(landed).toEqual({ ok: false, reason: "given-back" });
    expect(await afterOnePage(key)).toBe("USD 0.005");
    expect(await afterOnePage(key)).toBe("USD 0.00");
    expect(await afterOnePage(key)).toBeNull();
  });
});

describe("a top-up settled while the credit store could not record it", () => {
  it("should credit it when the same key sends the same payment again, once, never settling it twice (regression: left to a manual credit)", async () => {
    const key = freshKey();
    const path = `/__x402/crawl-credit?amount=0.01`;
    const { header, nonce } = paymentFor(await crawl(path, { key, method: "POST" }));
    const send = async (vars: Record<string, unknown> = {}) =>
      call(
        await signedRequest(path, {
          key,
          method: "POST",
          headers: { "payment-signature": header },
        }),
        { FACILITATOR_URLS: facilitator("ok"), ...vars },
      );
    const failed = await send({ CRAWL_CREDIT: creditWithBrokenTopUp() });
    expect(failed.status).toBe(503);
    const said = await failed.text();
    expect(said).toContain("send the same payment again");
    expect(said).not.toContain("manual");
    // The same key sends the same payment again: credited now, not settled again.
    const again = await send();
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ added: "USD 0.01", balance: "USD 0.01" });
    // A further copy adds nothing.
    const copy = await send();
    expect(copy.status).toBe(409);
    expect(await afterOnePage(key)).toBe("USD 0.005");
    expect(await afterOnePage(key)).toBe("USD 0.00");
    expect(await afterOnePage(key)).toBeNull();
    const settles = (await facilitatorCalls(nonce)).filter((c) => c.op === "settle");
    expect(settles).toHaveLength(1);
  });

  it("should not credit another key that sends a copy of the settled payment", async () => {
    const owner = freshKey();
    const copier = freshKey();
    const path = `/__x402/crawl-credit?amount=0.01`;
    const { header } = paymentFor(await crawl(path, { key: owner, method: "POST" }));
    const send = async (key: number, vars: Record<string, unknown> = {}) =>
      call(
        await signedRequest(path, {
          key,
          method: "POST",
          headers: { "payment-signature": header },
        }),
        { FACILITATOR_URLS: facilitator("ok"), ...vars },
      );
    expect((await send(owner, { CRAWL_CREDIT: creditWithBrokenTopUp() })).status).toBe(503);
    const copied = await send(copier);
    expect(copied.status).not.toBe(200);
    expect(await afterOnePage(copier)).toBeNull();
    // The owner still gets what was paid for.
    expect((await send(owner)).status).toBe(200);
    expect(await afterOnePage(owner)).toBe("USD 0.005");
  });

  it("should not credit another key from a settled top-up recorded without its key (an older record)", async () => {
    const owner = freshKey();
    const copier = freshKey();
    const path = `/__x402/crawl-credit?amount=0.01`;
    const { header, nonce } = paymentFor(await crawl(path, { key: owner, method: "POST" }));
    const send = async (key: number, vars: Record<string, unknown> = {}) =>
      call(
        await signedRequest(path, {
          key,
          method: "POST",
          headers: { "payment-signature": header },
        }),
        { FACILITATOR_URLS: facilitator("ok"), ...vars },
      );
    expect((await send(owner, { CRAWL_CREDIT: creditWithBrokenTopUp() })).status).toBe(503);
    // A record kept before claims named what they were bound to: its resource is the URL alone.
    const stub = env.PAYMENTS!.get(env.PAYMENTS!.idFromName(`payer:${PAYER.toLowerCase()}`));
    await runInDurableObject(stub, (_object, state) => {
      state.storage.sql.exec(
        "UPDATE payments SET resource = ? WHERE substr(key, -66) = ?",
        `https://paywall.test${path}`,
        nonce.toLowerCase(),
      );
    });
    expect((await send(copier)).status).not.toBe(200);
    expect(await afterOnePage(copier)).toBeNull();
  });
});

/**
 * A top-up whose facilitator answers success with its receipt's transaction rewritten by
 * `rewrite` (it did transfer), and whose lock loses the "settled" write: the claim goes stale,
 * and the owner's next copy concludes it from the chain, whose transfer names the transaction
 * (in lower case). Returns the first answer and the copy's.
 */
async function topUpConcludedFromTheChain(
  key: number,
  rewrite: (transaction: string) => string,
  between: (first: { keyid: string; transaction: string }) => Promise<void> = async () => {},
): Promise<{ first: Response; copy: Response }> {
  const path = `/__x402/crawl-credit?amount=0.01`;
  const { header, nonce } = paymentFor(await crawl(path, { key, method: "POST" }));
  const mode = `rewritten-tx-${unique()}`;
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const answer = await real(input, init);
    if (!url.endsWith(`/${mode}/settle`)) return answer;
    const body = (await answer.json()) as Record<string, unknown>;
    return Response.json({ ...body, transaction: rewrite(String(body["transaction"])) });
  });
  const locks = env.PAYMENTS!;
  const losingSettled = {
    idFromName: (name: string) => locks.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = locks.get(id);
      return {
        claim: (c: never) => stub.claim(c),
        finish: (k: string, outcome: { type: string }) =>
          outcome.type === "settled"
            ? Promise.reject(new Error("injected: the settled record was lost"))
            : stub.finish(k, outcome as never),
      };
    },
  };
  const send = async (vars: Record<string, unknown>) =>
    call(
      await signedRequest(path, {
        key,
        method: "POST",
        headers: { "payment-signature": header },
      }),
      vars,
    );
  const first = await send({ FACILITATOR_URLS: facilitator(mode), PAYMENTS: losingSettled });
  expect(first.status).toBe(200);
  const body = (await first.clone().json()) as { keyid: string; transaction: string };
  await between(body);
  // The claim is left "settling" past the stale limit.
  const stub = locks.get(locks.idFromName(`payer:${PAYER.toLowerCase()}`));
  await runInDurableObject(stub, (_object, state) => {
    state.storage.sql.exec(
      "UPDATE payments SET updated_at = updated_at - 130000 WHERE substr(key, -66) = ?",
      nonce.toLowerCase(),
    );
  });
  const copy = await send({ FACILITATOR_URLS: facilitator("ok") });
  return { first, copy };
}

describe("a top-up whose settlement is named twice", () => {
  // A top-up is credited under its authorization (every path knows it) and its transaction
  // when one is known; the credit store takes either name, in any case, as already credited.
  it("should credit a top-up once when its receipt named no transaction and its abandoned claim is later proven from the chain (regression: the credit was keyed by the settlement's reference, authorization:<key> first, then network:<tx>)", async () => {
    const key = freshKey();
    const { first } = await topUpConcludedFromTheChain(key, () => "");
    expect(await first.json()).toMatchObject({ added: "USD 0.01" });
    // One payment of USD 0.01: two pages at USD 0.005, no more.
    expect(await afterOnePage(key)).toBe("USD 0.005");
    expect(await afterOnePage(key)).toBe("USD 0.00");
    expect(await afterOnePage(key)).toBeNull();
  });

  it("should credit a top-up once when the facilitator names its transaction in upper case and the chain in lower case (regression: names compared case-sensitively)", async () => {
    const key = freshKey();
    const upper = (tx: string) => `0x${tx.slice(2).toUpperCase()}`;
    const { first } = await topUpConcludedFromTheChain(key, upper);
    const body = (await first.json()) as { added: string; transaction: string };
    expect(body.added).toBe("USD 0.01");
    expect(body.transaction).toMatch(/^0x[0-9A-F]{64}$/);
    expect(await afterOnePage(key)).toBe("USD 0.005");
    expect(await afterOnePage(key)).toBe("USD 0.00");
    expect(await afterOnePage(key)).toBeNull();
  });

  it("should not credit again a top-up recorded under its transaction alone (an older record, spelt in upper case) when a copy is concluded from the chain", async () => {
    const key = freshKey();
    const upper = (tx: string) => `0x${tx.slice(2).toUpperCase()}`;
    await topUpConcludedFromTheChain(key, upper, async ({ keyid, transaction }) => {
      // The record a top-up left before it was also named by its authorization.
      const store = env.CRAWL_CREDIT!.get(env.CRAWL_CREDIT!.idFromName(keyid));
      await runInDurableObject(store, (_object, state) => {
        state.storage.sql.exec("DELETE FROM topups");
        state.storage.sql.exec(
          "INSERT INTO topups (payment, amount, created_at) VALUES (?, '10000', ?)",
          `eip155:84532:${transaction}`,
          Date.now(),
        );
      });
    });
    expect(await afterOnePage(key)).toBe("USD 0.005");
    expect(await afterOnePage(key)).toBe("USD 0.00");
    expect(await afterOnePage(key)).toBeNull();
  });
});

describe("top-ups whose receipts name no transaction, without the payment lock", () => {
  it("should credit each of them (regression: all were named authorization:unknown, so only the first was credited)", async () => {
    const key = freshKey();
    const mode = `no-tx-${unique()}`;
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const answer = await real(input, init);
      if (!url.endsWith(`/${mode}/settle`)) return answer;
      const body = (await answer.json()) as Record<string, unknown>;
      return Response.json({ ...body, transaction: "" });
    });
    const path = `/__x402/crawl-credit?amount=0.01`;
    const balances = [];
    for (let i = 0; i < 2; i++) {
      const { header } = paymentFor(await crawl(path, { key, method: "POST" }));
      const request = await signedRequest(path, {
        key,
        method: "POST",
        headers: { "payment-signature": header },
      });
      const bought = await call(request, {
        FACILITATOR_URLS: facilitator(mode),
        PAYMENTS: undefined,
      });
      balances.push(((await bought.json()) as { balance?: string }).balance);
    }
    expect(balances).toEqual(["USD 0.01", "USD 0.02"]);
  });
});

describe("the credit store's names of a top-up", () => {
  it("should take any name of a top-up, in any case, as credited, and record the names it was not known by", async () => {
    const keyid = `names-${unique()}`;
    const store = env.CRAWL_CREDIT!.get(env.CRAWL_CREDIT!.idFromName(keyid));
    const account = "eip155:84532|0xasset|0xpayee";
    const first = await store.topUp(keyid, account, ["eip155:84532:authorization:0xa|0xN1"], "100");
    expect(first).toMatchObject({ ok: true, added: "100", balance: "100", duplicate: false });
    const both = ["eip155:84532:authorization:0xa|0xn1", "eip155:84532:0xTX1"];
    const second = await store.topUp(keyid, account, both, "100");
    expect(second).toMatchObject({ ok: true, added: "0", balance: "100", duplicate: true });
    // Known now by its transaction as well.
    const third = await store.topUp(keyid, account, ["eip155:84532:0xtx1"], "100");
    expect(third).toMatchObject({ ok: true, added: "0", balance: "100", duplicate: true });
    // An older caller sends one name as a string.
    const older = await store.topUp(keyid, account, "EIP155:84532:0XTX1", "100");
    expect(older).toMatchObject({ ok: true, added: "0", balance: "100", duplicate: true });
    const other = await store.topUp(keyid, account, ["eip155:84532:0xtx2"], "50");
    expect(other).toMatchObject({ ok: true, added: "50", balance: "150", duplicate: false });
  });
});

describe("top-ups of one key from two wallets that chose the same nonce", () => {
  it("should credit both: an authorization nonce is unique per payer, not per key (regression: the second payer's settled top-up was answered as a duplicate and credited nothing)", async () => {
    const key = freshKey();
    const mode = `two-wallets-${unique()}`;
    const nonce = `0x${"ab".repeat(32)}`;
    const wallets = [PAYER, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"];
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.endsWith(`/${mode}/settle`)) return real(input, init);
      // Each wallet's authorization moves its own money in its own transaction (EIP-3009
      // nonces are per authorizer: the same nonce of two wallets is two payments).
      const body = JSON.parse(String(init?.body)) as {
        paymentPayload: { payload: { authorization: { from: string } } };
        paymentRequirements: { network: string };
      };
      const from = body.paymentPayload.payload.authorization.from;
      return Response.json({
        success: true,
        payer: from,
        transaction: `0x${from.slice(2).toLowerCase().padEnd(64, "0")}`,
        network: body.paymentRequirements.network,
      });
    });
    const path = `/__x402/crawl-credit?amount=0.01`;
    const answers = [];
    for (const from of wallets) {
      const { header } = paymentFor(await crawl(path, { key, method: "POST" }), (payload) => {
        const authorization = (payload["payload"] as { authorization: Record<string, string> })
          .authorization;
        authorization["from"] = from;
        authorization["nonce"] = nonce;
      });
      const request = await signedRequest(path, {
        key,
        method: "POST",
        headers: { "payment-signature": header },
      });
      const bought = await call(request, { FACILITATOR_URLS: facilitator(mode) });
      answers.push({ status: bought.status, body: await bought.json() });
    }
    expect(answers[0]).toMatchObject({ status: 200, body: { added: "USD 0.01" } });
    expect(answers[1]).toMatchObject({
      status: 200,
      body: { added: "USD 0.01", balance: "USD 0.02" },
    });
  });
});
