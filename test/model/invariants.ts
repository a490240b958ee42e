import type { SellerTransfer } from "./chain.ts";
import { NOT_OBSERVABLE } from "./observable.ts";
import type { Observable } from "./observable.ts";
import { REPORTED_UNITS } from "./origin.ts";
import { PASS_USES, SIGNED, UNIT_PRICE } from "./prices.ts";
import type { Observation, Payment, Sequence } from "./sequence.ts";

/**
 * The money rules the model test holds the paywall to, judged once a sequence is over from what
 * its requests saw, the transfers on chain and the receipts ledger (the admin API).
 */

/** The invariants, by id, with what each says. */
export const INVARIANTS = {
  covered:
    "every priced answer delivered is covered by a confirmed transfer of at least its price to the seller, for that operation",
  "pending-never-served": "a pending payment is never served without its transfer on chain",
  "pass-uses": "a pass opens at most the uses that were paid for",
  "receipt-per-transfer":
    "every transfer to the seller has exactly one receipt, and every receipt its transfer",
  "charged-with-content": "no payer is charged for an answer that did not deliver content",
  "settled-once":
    "nothing settles twice: one transfer and one receipt per authorization, total moved = sum of receipts",
  "no-paywall-5xx":
    "no input gives a 5xx from the paywall itself (a 502/503 only for a facilitator or origin fault)",
  "preflight-free": "a CORS preflight is never priced",
} as const;

/** An invariant's id. */
export type InvariantId = keyof typeof INVARIANTS;

/** One broken invariant, with what broke it. */
export interface Violation {
  invariant: InvariantId;
  detail: string;
}

/** A receipt as the admin API lists it (the fields judged here). */
export interface LedgerReceipt {
  transaction: string | null;
  nonce: string | null;
  amount: string;
  path: string;
}

/**
 * How many answers of the same operation a payment may deliver: the first, and the paywall's
 * own bound on serving it again to a retry with its payment id (`MAX_REPLAYS`). Read from the
 * paywall's source at run time: the Node type check cannot load Workers-typed modules.
 */
export const RETRY_BOUND =
  1 +
  (
    (await import(new URL("../../src/idempotency/replays.ts", import.meta.url).href)) as {
      MAX_REPLAYS: number;
    }
  ).MAX_REPLAYS;

/** Origin behaviours that excuse a 502/503 from the paywall (the origin itself failed). */
/**
 * The local runtime's own answer when the origin's chunked body broke before the Worker's
 * answer went out (the settlement outlasted the origin's 50 ms before its reset, as under load):
 * wrangler dev answers `500 Network connection lost` for the broken body instead of cutting a
 * 200. The same break as a cut 200, seen earlier: not a 5xx of the paywall's making.
 */
function runtimeBodyBreak(o: Observation): boolean {
  return (
    o.behaviour === "reset" &&
    !o.paywallShaped &&
    o.status === 500 &&
    o.text.includes("Network connection lost")
  );
}

const ORIGIN_FAULTS = new Set([
  "reset",
  "resetsized",
  "nousage",
  "ssenone",
  "hold",
  "ssehold",
  "slow",
]);

/**
 * A judged sequence: how many checks ran, the violations, and what was not counted either way:
 * - `unobservable`: what would be a violation but follows from a fact this harness's runtime
 *   cannot deliver to the Worker (observable.ts): counted and printed apart, never a pass;
 * - `risks`: what the paywall's documented design accepts (docs/security.md, "What happens to
 *   money when the origin fails mid-answer"): a chunked body that breaks after its settlement, when the
 *   payment carried no payment id (with one, the payer's retry must get the content again,
 *   and that is checked like any other answer).
 */
export interface Verdict {
  checked: number;
  violations: Violation[];
  unobservable: Violation[];
  risks: Violation[];
}

/** The least a delivered answer must have moved to the seller. */
function priceOf(o: Observation): bigint {
  if (o.route === "pay" || o.route === "pass") return SIGNED[o.route];
  const reported = o.behaviour === "usage" || o.behaviour === "sse";
  return reported ? BigInt(REPORTED_UNITS) * UNIT_PRICE : SIGNED[o.route];
}

function operation(o: { method: string; path: string; body: string | undefined }): string {
  const method = o.method === "HEAD" ? "GET" : o.method;
  return `${method} ${o.path}${o.body !== undefined && method !== "GET" ? ` ${o.body}` : ""}`;
}

function describe(o: Observation): string {
  const what = o.token ? "session token" : o.payment !== undefined ? `payment #${o.payment}` : "";
  const code = o.code ? ` ${o.code}` : "";
  return `step ${o.step} ${o.event} ${o.method} ${o.path} [${what}] → ${o.status}${code}`;
}

/** Judges a finished sequence against what this harness's runtime can observe. */
export function judge(
  seq: Sequence,
  transfers: SellerTransfer[],
  receipts: LedgerReceipt[],
  observable: Observable,
): Verdict {
  let checked = 0;
  const violations: Violation[] = [];
  const unobservable: Violation[] = [];
  const risks: Violation[] = [];
  const check = (
    ok: boolean,
    invariant: InvariantId,
    detail: () => string,
    excuse?: () => { as: "unobservable" | "risk"; why: string } | undefined,
  ): void => {
    if (ok) {
      checked += 1;
      return;
    }
    const excused = excuse?.();
    if (excused === undefined) {
      checked += 1;
      violations.push({ invariant, detail: detail() });
    } else {
      const found = { invariant, detail: `${detail()} [${excused.why}]` };
      (excused.as === "unobservable" ? unobservable : risks).push(found);
    }
  };
  const keyOf = (o: Observation): string | undefined =>
    o.payment === undefined ? undefined : seq.payments[o.payment]?.key;
  const transferOf = new Map<string, SellerTransfer[]>();
  for (const t of transfers) {
    const key = t.key ?? `unreadable:${t.transaction}`;
    transferOf.set(key, [...(transferOf.get(key) ?? []), t]);
  }
  const paymentOf = new Map<string, Payment>(seq.payments.map((p) => [p.key, p]));
  const observationsOf = (key: string | undefined): Observation[] =>
    key === undefined ? [] : seq.observations.filter((o) => keyOf(o) === key);
  // A charge without content that follows from a disconnect the runtime never passed on: the
  // payment's first request went away before any answer, and no later one of it got an answer
  // that could itself have been charged (a 2xx, or a connection that failed).
  const goneUnseen = (key: string | undefined): boolean => {
    const [first, ...later] = observationsOf(key);
    return (
      !observable.disconnectBeforeAnswer &&
      first?.wentAway === "before-answer" &&
      later.every((o) => o.delivered || !(o.status === 0 || (o.status >= 200 && o.status < 300)))
    );
  };
  // A delivered stream the client left, whose end the runtime never noticed (so never cut).
  const leftUnseen = (o: Observation): boolean =>
    !observable.disconnectMidStream && o.wentAway === "mid-stream" && o.route === "sse";
  // The documented residual risk: a chunked answer that broke after it was settled, paid
  // without a payment id (the only remedy), so nothing lets the payer get it again.
  const brokeAfterSettling = (key: string | undefined): boolean =>
    key !== undefined &&
    paymentOf.get(key)?.paymentId === undefined &&
    observationsOf(key).some(
      (o) =>
        o.behaviour === "reset" &&
        !o.paywallShaped &&
        (o.status === 0 || (o.status >= 200 && o.status < 300) || runtimeBodyBreak(o)),
    );

  // Every delivered priced answer is covered by a transfer for its own operation.
  const deliveredBy = new Map<string, Observation[]>();
  for (const o of seq.observations) {
    const key = keyOf(o);
    if (!o.delivered || key === undefined) continue;
    deliveredBy.set(key, [...(deliveredBy.get(key) ?? []), o]);
    const moved = transferOf.get(key)?.[0];
    const pendingBefore = seq.observations.some(
      (p) =>
        keyOf(p) === key &&
        p.code === "payment_pending" &&
        seq.observations.indexOf(p) < seq.observations.indexOf(o),
    );
    if (pendingBefore) {
      check(
        moved !== undefined,
        "pending-never-served",
        () =>
          `${describe(o)}: served after payment_pending, and no transfer of its authorization is on chain`,
      );
      if (moved === undefined) continue;
    }
    check(
      moved !== undefined && moved.value >= priceOf(o),
      "covered",
      () =>
        moved === undefined
          ? `${describe(o)}: delivered, but no transfer of its authorization reached the seller`
          : `${describe(o)}: delivered, but only ${moved.value} of ${priceOf(o)} reached the seller`,
      () =>
        moved === undefined && leftUnseen(o)
          ? { as: "unobservable", why: NOT_OBSERVABLE.disconnectMidStream }
          : undefined,
    );
  }
  for (const [key, delivered] of deliveredBy) {
    const payment = paymentOf.get(key);
    if (!payment || payment.route === "pass") continue;
    // A payment buys one answer: its operation is that of the first answer it delivered (a
    // captured payment may be used first elsewhere than its signer meant).
    const own = operation(delivered[0] ?? payment);
    const others = delivered.filter((o) => operation(o) !== own);
    check(
      others.length === 0,
      "covered",
      () =>
        `payment #${seq.payments.indexOf(payment)} (first delivered ${own}) also delivered ${others.map(describe).join("; ")}`,
    );
    const same = delivered.length - others.length;
    check(
      same <= RETRY_BOUND,
      "covered",
      () =>
        `payment #${seq.payments.indexOf(payment)} delivered ${own} ${same} times (at most ${RETRY_BOUND})`,
    );
  }

  // A pass opens at most the uses it was paid for.
  const passDelivered = seq.observations.filter((o) => o.route === "pass" && o.delivered);
  const passesBought = transfers.filter((t) => t.key && paymentOf.get(t.key)?.route === "pass");
  check(
    passDelivered.length <= passesBought.length * PASS_USES,
    "pass-uses",
    () =>
      `${passDelivered.length} pass answers delivered, ${passesBought.length} pass(es) of ${PASS_USES} uses bought: ${passDelivered.map(describe).join("; ")}`,
  );

  // Every transfer has exactly one receipt, and every receipt a transfer; nothing twice.
  const txs = new Set(transfers.map((t) => t.transaction));
  for (const t of transfers) {
    const own = receipts.filter((r) => r.transaction?.toLowerCase() === t.transaction);
    check(
      own.length === 1,
      "receipt-per-transfer",
      () =>
        `transfer ${t.transaction} (${t.value}, authorization ${t.key ?? "?"}) has ${own.length} receipts`,
    );
    const delivered = seq.observations.some((o) => o.delivered && keyOf(o) === t.key);
    check(
      delivered,
      "charged-with-content",
      () => {
        const seen = observationsOf(t.key).map(describe);
        return `transfer ${t.transaction} moved ${t.value} for authorization ${t.key ?? "?"}; no answer with content: ${seen.join("; ") || "never sent"}`;
      },
      () =>
        goneUnseen(t.key)
          ? { as: "unobservable", why: NOT_OBSERVABLE.disconnectBeforeAnswer }
          : brokeAfterSettling(t.key)
            ? {
                as: "risk",
                why: "a chunked answer broke after its settlement, paid without a payment id",
              }
            : undefined,
    );
  }
  for (const r of receipts) {
    check(
      r.transaction !== null && txs.has(r.transaction.toLowerCase()),
      "receipt-per-transfer",
      () =>
        `receipt for ${r.path} (${r.amount}, nonce ${r.nonce ?? "?"}) names transaction ${r.transaction || "(none)"}, which moved nothing to the seller`,
    );
  }
  for (const [key, moved] of transferOf) {
    check(
      moved.length === 1,
      "settled-once",
      () => `authorization ${key} moved money ${moved.length} times`,
    );
  }
  const byNonce = new Map<string, number>();
  for (const r of receipts) if (r.nonce) byNonce.set(r.nonce, (byNonce.get(r.nonce) ?? 0) + 1);
  for (const [nonce, n] of byNonce) {
    check(n === 1, "settled-once", () => `authorization ${nonce} has ${n} receipts`);
  }
  const moved = transfers.reduce((sum, t) => sum + t.value, 0n);
  const recorded = receipts.reduce((sum, r) => sum + BigInt(r.amount), 0n);
  check(
    moved === recorded,
    "settled-once",
    () => `${moved} moved to the seller, receipts sum to ${recorded}`,
  );

  // No 5xx from the paywall itself; preflights are never priced.
  for (const o of seq.observations) {
    if (o.status >= 500) {
      const key = keyOf(o);
      const excused =
        o.faulted || (key !== undefined && seq.troubled.has(key)) || ORIGIN_FAULTS.has(o.behaviour);
      const fromOrigin = !o.paywallShaped && (o.behaviour === "error" || runtimeBodyBreak(o));
      // A HEAD answer has no body to show whose error it is: its status and cause must do.
      const shaped = o.paywallShaped || o.method === "HEAD";
      check(
        fromOrigin || (shaped && o.status !== 500 && o.code !== "internal_error" && excused),
        "no-paywall-5xx",
        () => `${describe(o)}: ${o.text.slice(0, 160)}`,
      );
    }
    if (o.preflight) {
      check(o.status !== 402, "preflight-free", () => describe(o));
    }
  }
  return { checked, violations, unobservable, risks };
}
