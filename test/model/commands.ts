import fc from "fast-check";
import type { AsyncCommand } from "fast-check";
import type { Behaviour } from "./origin.ts";
import { SLOW_MS } from "./origin.ts";
import type { Route } from "./prices.ts";
import type { FacilitatorFault, Sequence } from "./sequence.ts";

/**
 * The events of the model test, one fast-check command each: client actions (pay with V2 or V1,
 * copy, replay with another method, body or path, reuse a payment id, go away mid-request or
 * mid-stream, HEAD, CORS preflight, cancel the authorization on chain, spend its nonce
 * elsewhere, use a session pass concurrently), each paid request with a facilitator fault or
 * not, on an origin behaviour of its route. Every command records what it saw in the sequence;
 * the invariants are judged at the end (invariants.ts).
 */

/** What the commands need to know to be applicable. */
export interface Model {
  payments: number;
  tokens: number;
}

/** The origin behaviours each route is tried with. */
const BEHAVIOURS: Record<Route, readonly Behaviour[]> = {
  pay: ["ok", "ok", "redirect", "notfound", "error", "reset", "resetsized", "hold"],
  pass: ["ok", "ok", "error"],
  meter: ["usage", "nousage", "error"],
  sse: ["sse", "ssenone", "ok", "ssehold"],
};

/** Which payment an event refers to: counted back from the latest (0 = the latest). */
function pick(seq: Sequence, back: number): number {
  return Math.max(0, seq.payments.length - 1 - (back % seq.payments.length));
}

function faultText(fault: FacilitatorFault | undefined): string {
  return fault ? `, ${fault.op}:${fault.mode}${fault.both ? " on both" : ""}` : "";
}

/** One event of a sequence, as fast-check runs it. */
type Command = AsyncCommand<Model, Sequence, true>;

/** Builds a command: its label, when it applies, and what it does to the sequence. */
function command(
  label: string,
  act: (seq: Sequence) => Promise<void>,
  applies: (model: Readonly<Model>) => boolean = () => true,
): Command {
  return {
    check: async (model) => applies(model),
    run: async (model, seq) => {
      seq.step += 1;
      seq.events.push(label);
      await act(seq);
      model.payments = seq.payments.length;
      model.tokens = seq.tokens.length;
    },
    toString: () => label,
  };
}

const hasPayment = (model: Readonly<Model>): boolean => model.payments > 0;

/** Pay for a request with an official client (a fault on the facilitator, optionally). */
function pay(
  version: 1 | 2,
  route: Route,
  behaviour: Behaviour,
  method: "GET" | "POST" | "HEAD",
  withId: boolean,
  fault: FacilitatorFault | undefined,
): Command {
  const id = withId ? ", payment-id" : "";
  return command(
    `pay(v${version} ${method} ${route}/${behaviour}${id}${faultText(fault)})`,
    async (seq) => {
      await seq.pay("pay", route, behaviour, seq.path(route, behaviour), version, {
        method,
        ...(method === "POST" && { body: JSON.stringify({ q: seq.step }) }),
        ...(withId && { paymentId: `model-${seq.id}-${seq.step}-id` }),
        ...(fault && { fault }),
        firstChunkOnly: behaviour === "hold" || behaviour === "ssehold",
      });
    },
  );
}

/** Sign a payment and keep it unsent (a payment captured on its way, or not sent yet). */
function sign(route: "pay" | "pass"): Command {
  return command(`sign(v2 GET ${route}/ok, not sent)`, async (seq) => {
    await seq.pay("sign", route, "ok", seq.path(route, "ok"), 2, {
      method: "GET",
      captureOnly: true,
    });
  });
}

/** Send a payment again, exactly as it was (a retry, or a copy someone captured). */
function copy(back: number, fault: FacilitatorFault | undefined): Command {
  return command(
    `copy(payment -${back}${faultText(fault)})`,
    async (seq) => void (await seq.resend("copy", pick(seq, back), {}, fault)),
    hasPayment,
  );
}

/** Send a payment with another method, body or path than it was signed for. */
function replay(back: number, change: "method" | "body" | "path"): Command {
  return command(
    `replay(payment -${back} with another ${change})`,
    async (seq) => {
      const index = pick(seq, back);
      const payment = seq.payments[index]!;
      const changed =
        change === "method"
          ? payment.method === "POST"
            ? { method: "PUT", body: payment.body ?? "{}" }
            : { method: "POST", body: JSON.stringify({ replayed: seq.step }) }
          : change === "body"
            ? { method: payment.method === "POST" ? "POST" : "PUT", body: `{"other":${seq.step}}` }
            : { path: `${payment.path}-elsewhere-${seq.step}` };
      await seq.resend(`replay-${change}`, index, changed);
    },
    hasPayment,
  );
}

/** Send the same payment several times at once. */
function concurrent(back: number, copies: number): Command {
  return command(
    `concurrent(${copies} copies of payment -${back})`,
    async (seq) => {
      const index = pick(seq, back);
      await Promise.all(Array.from({ length: copies }, () => seq.resend("concurrent", index)));
    },
    hasPayment,
  );
}

/** Pay, then go away: before the origin answers, or after the first chunk of a stream. */
function goAway(when: "mid-request" | "mid-stream", route: "pay" | "sse"): Command {
  return command(`go-away(${when} on ${route})`, async (seq) => {
    if (when === "mid-request") {
      await seq.pay("go-away", route, "slow", seq.path(route, "slow"), 2, {
        method: "GET",
        abortAfterMs: Math.floor(SLOW_MS / 3),
      });
      // Give the Worker the rest of the origin's answer time to decide.
      await new Promise((r) => setTimeout(r, SLOW_MS));
      return;
    }
    const behaviour = route === "sse" ? "ssehold" : "hold";
    await seq.pay("go-away", route, behaviour, seq.path(route, behaviour), 2, {
      method: "GET",
      firstChunkOnly: true,
    });
  });
}

/** A CORS preflight on a priced route. */
function preflight(route: Route): Command {
  return command(`preflight(${route})`, async (seq) => {
    await seq.plain(
      "preflight",
      route,
      "ok",
      seq.path(route, "ok"),
      {
        method: "OPTIONS",
        headers: {
          Origin: "https://app.example",
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "payment-signature, content-type",
        },
      },
      { preflight: true },
    );
  });
}

/** The payer uses an authorization's nonce on chain: cancels it, or spends it elsewhere. */
function useNonce(back: number, how: "cancel" | "spend-elsewhere"): Command {
  return command(
    `${how}(authorization -${back} on chain)`,
    async (seq) => {
      const eip3009 = seq.payments.filter((p) => p.nonce !== undefined);
      if (eip3009.length === 0) return;
      const p = eip3009[Math.max(0, eip3009.length - 1 - (back % eip3009.length))]!;
      const chain = seq.harness.chain;
      const outcome =
        how === "cancel"
          ? await chain.cancel(seq.payer, p.nonce!)
          : await chain.spendElsewhere(seq.payer, p.nonce!, p.value);
      if (outcome !== "already used") seq.troubled.add(p.key);
    },
    hasPayment,
  );
}

/** Use the latest session pass from several requests at once. */
function usePass(requests: number): Command {
  return command(
    `use-pass(${requests} at once)`,
    async (seq) => {
      const token = seq.tokens[seq.tokens.length - 1]!;
      await Promise.all(
        Array.from({ length: requests }, (_, i) =>
          seq.plain(
            "use-pass",
            "pass",
            "ok",
            seq.path("pass", "ok", `-${i}`),
            { method: "GET", headers: { "PAYMENT-SESSION": token } },
            { token: true },
          ),
        ),
      );
    },
    (model) => model.tokens > 0,
  );
}

const faultArb = (ops: Array<"verify" | "settle">): fc.Arbitrary<FacilitatorFault | undefined> =>
  fc.option(
    fc.record({
      op: fc.constantFrom(...ops),
      mode: fc.constantFrom("refuse", "error500", "garbage", "slow", "late", "drop"),
      both: fc.boolean(),
    }),
    { freq: 3 },
  );

const payArb: fc.Arbitrary<Command> = fc
  .record({
    version: fc.constantFrom<1 | 2>(2, 2, 1),
    route: fc.constantFrom<Route>("pay", "pay", "pass", "meter", "sse"),
    pick: fc.nat(),
    method: fc.constantFrom<"GET" | "POST" | "HEAD">("GET", "GET", "POST", "HEAD"),
    withId: fc.boolean(),
    fault: faultArb(["verify", "settle", "settle"]),
  })
  .map(({ version, route, pick, method, withId, fault }) => {
    const behaviours = BEHAVIOURS[route];
    const behaviour = behaviours[pick % behaviours.length]!;
    // The V1 client pays `exact` only (not the metered `upto`), and cannot read a HEAD's 402.
    const v = route === "meter" || route === "sse" || method === "HEAD" ? 2 : version;
    return pay(v, route, behaviour, method, withId && v === 2, fault);
  });

const back = fc.nat({ max: 3 });

/** Every command, with the weights a sequence draws them by. */
export const commandArbs: Array<fc.Arbitrary<Command>> = [
  payArb,
  payArb,
  payArb,
  fc.constantFrom<"pay" | "pass">("pay", "pass").map((r) => sign(r)),
  fc.tuple(back, faultArb(["settle"])).map(([b, f]) => copy(b, f)),
  fc.tuple(back, faultArb(["settle"])).map(([b, f]) => copy(b, f)),
  fc
    .tuple(back, fc.constantFrom<"method" | "body" | "path">("method", "body", "path"))
    .map(([b, c]) => replay(b, c)),
  fc.tuple(back, fc.integer({ min: 2, max: 4 })).map(([b, n]) => concurrent(b, n)),
  fc
    .tuple(
      fc.constantFrom<"mid-request" | "mid-stream">("mid-request", "mid-stream"),
      fc.constantFrom<"pay" | "sse">("pay", "sse"),
    )
    .map(([w, r]) => goAway(w, r)),
  fc.constantFrom<Route>("pay", "pass", "meter", "sse").map((r) => preflight(r)),
  fc
    .tuple(back, fc.constantFrom<"cancel" | "spend-elsewhere">("cancel", "spend-elsewhere"))
    .map(([b, h]) => useNonce(b, h)),
  fc.integer({ min: 2, max: 3 }).map((n) => usePass(n)),
];
