import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { beforeEach, describe, expect, inject, it } from "vitest";
import type { PaymentLocks } from "../../src/idempotency";
import { receiptsOf } from "./admin-helpers";
import {
  TABLE,
  call,
  facilitator,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
  paymentLocks,
} from "./helpers";

/**
 * The facilitator's verify runs beside the payment's claim, and the settled receipt goes to the
 * payer's object with the outcome. Copies of one payment race each other here, each through a
 * facilitator of its own behaviour (valid, invalid, settle refused, down), some through a lock
 * whose answer to "settled" is lost after the move: a verify's answer must count only for the
 * request that acquired the payment, and the ledger must end with one row per paid payment.
 */

const BASE = "https://beside.test";
const MODES = ["ok", "invalid", "settle-fail", "error500"] as const;
type Mode = (typeof MODES)[number];

beforeEach(async () => {
  await putTable({ ...TABLE, rules: [{ path: "/slow/*", price: "$0.001" }, ...TABLE.rules] });
});

const locks = paymentLocks;

/** Payment locks whose answer to a "settled" finish is lost after the object made the move. */
function losingSettledAnswers(): DurableObjectNamespace<PaymentLocks> {
  const target = locks();
  return new Proxy(target, {
    get(namespace, name) {
      if (name !== "get") {
        const value = Reflect.get(namespace, name) as unknown;
        return typeof value === "function" ? value.bind(namespace) : value;
      }
      return (id: DurableObjectId) => {
        const real = namespace.get(id);
        return {
          claim: (claim: never) => real.claim(claim),
          finish: async (key: string, outcome: { type: string }) => {
            const done = await real.finish(key, outcome as never);
            if (outcome.type === "settled") throw new Error("the finish's answer was lost");
            return done;
          },
          resolve: (key: string, verdict: never) => real.resolve(key, verdict),
        };
      };
    },
  });
}

async function outboxSize(payer: string): Promise<number> {
  const stub = locks().get(locks().idFromName(`payer:${payer}`));
  return runInDurableObject(
    stub,
    (_object, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n,
  );
}

describe("copies of a payment racing through facilitators that answer differently", () => {
  it("should serve only a request whose own verify and settle passed, at most once per payment, and record one ledger row per paid payment (randomised)", async () => {
    // VERIFY_BESIDE_SEED replays a sequence (the seed is printed with any failure).
    let seed = Number(inject("verifyBesideSeed")) || Math.floor(Math.random() * 2 ** 31);
    const first = seed;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const outcomes: Array<{ payer: string; nonce: string; served: number }> = [];
    for (let round = 0; round < 8; round += 1) {
      const payer = privateKeyToAccount(generatePrivateKey()).address.toLowerCase();
      const path = `/slow/${pick([0, 150, 400])}/${unique()}`;
      const challenge = await call(new Request(`${BASE}${path}`));
      expect(challenge.status).toBe(402);
      const { header, nonce } = paymentFor(challenge, (p) => {
        (p["payload"] as { authorization: { from: string } }).authorization.from = payer;
      });
      const copies = Array.from({ length: 2 + Math.floor(random() * 3) }, () => ({
        mode: pick(MODES),
        lose: random() < 0.4,
        delay: Math.floor(random() * 200),
      }));
      const answers = await Promise.all(
        copies.map(async ({ mode, lose, delay }) => {
          await new Promise((r) => setTimeout(r, delay));
          const response = await call(
            new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }),
            {
              FACILITATOR_URLS: facilitator(mode),
              ...(lose && { PAYMENTS: losingSettledAnswers() }),
            },
          );
          await response.body?.cancel();
          return { mode, status: response.status };
        }),
      );
      const why = `seed ${first}, round ${round}: ${JSON.stringify(answers)}`;
      const served = answers.filter((a) => a.status === 200);
      // One payment, one content, and only to a request whose facilitator said valid and settled.
      expect(served.length, why).toBeLessThanOrEqual(1);
      for (const answer of served) expect<Mode>(answer.mode, why).toBe("ok");
      // The origin is reached only by a copy that held the claim with a valid verify: a copy
      // whose settlement was then refused had its answer withheld and let the payment go, so a
      // later copy may reach the origin again (served once, charged once, as asserted here).
      const validated = answers.filter((a) => a.mode === "ok" || a.mode === "settle-fail");
      expect(await originSaw(path), why).toBeLessThanOrEqual(validated.length);
      // Never settled twice: the chain takes the nonce once, so a second settle is refused.
      const settles = (await facilitatorCalls(nonce)).filter((c) => c.op === "settle");
      const okSettles = settles.filter((c) => (c as { mode?: string }).mode === "ok");
      expect(okSettles.length, why).toBeLessThanOrEqual(1);
      if (served.length === 0) expect(okSettles.length, why).toBe(0);
      outcomes.push({ payer, nonce, served: served.length });
    }
    // The lock objects write what they queued; then the ledger holds one row per paid payment.
    for (const { payer } of outcomes) {
      for (let i = 0; i < 5 && (await outboxSize(payer)) > 0; i += 1) {
        await runDurableObjectAlarm(locks().get(locks().idFromName(`payer:${payer}`)));
      }
    }
    for (const { payer, nonce, served } of outcomes) {
      const rows = (await receiptsOf(payer)).filter((r) => r.nonce === nonce.toLowerCase());
      expect(rows.length, `seed ${first}, payer ${payer}`).toBe(served);
    }
  }, 120_000);
});
