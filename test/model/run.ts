import fc from "fast-check";
import { commandArbs } from "./commands.ts";
import type { Model } from "./commands.ts";
import { INVARIANTS, judge } from "./invariants.ts";
import type { InvariantId, LedgerReceipt, Violation } from "./invariants.ts";
import { probeObservable } from "./observable.ts";
import type { Observable } from "./observable.ts";
import { Sequence } from "./sequence.ts";
import type { Harness, Observation } from "./sequence.ts";
import type { SellerTransfer } from "./chain.ts";

/**
 * Runs the model: random sequences of events (commands.ts) against one harness, each judged by
 * the invariants (invariants.ts) once it is over. A sequence that breaks one is shrunk by
 * fast-check to a shorter one that still does, and printed with its seed so it can be replayed.
 *
 * Before the run the harness's runtime is asked what it passes on of a client that goes away
 * (observable.ts); what would break an invariant only because the runtime never told the
 * Worker is printed apart as "not observable here", with counts, and fails nothing. What the
 * paywall's documented design accepts (a chunked answer breaking after its settlement, with no
 * payment id to retry) is printed apart as a "documented risk taken". Neither is a pass: each
 * is judged by its own narrow rule (invariants.ts), and anything else is a violation.
 *
 * Environment (for the operator):
 * - `MODEL_RUNS`: how many sequences (default: the harness's own, a couple of minutes' worth);
 * - `MODEL_COMMANDS`: the most events a sequence has (default 8);
 * - `MODEL_SEED`, `MODEL_PATH` and `MODEL_REPLAY` (the commands' `replayPath`): replay a
 *   shrunk sequence the run reported;
 * - `MODEL_FOCUS`: comma-separated invariant ids; only these fail the run (others are printed);
 * - `MODEL_SHRINKS`: how many shrink attempts at most (default 60);
 * - `MODEL_TIME_LIMIT_S`: the run's budget in seconds, shrinking included (default 120).
 */

/** What a run found. */
export interface ModelFigures {
  sequences: number;
  events: number;
  checked: number;
  violated: number;
  /** Every violation seen, with the events of the sequence that broke it. */
  found: Array<Violation & { events: string[] }>;
  /** What the runtime passes on of a client that goes away (probed before the run). */
  observable: Observable;
  /** Would-be violations that follow from a fact this runtime cannot deliver to the Worker. */
  unobservable: Violation[];
  /** What the paywall's documented design accepts (invariants.ts, `Verdict.risks`). */
  risks: Violation[];
  /** fast-check's report of the shrunk counterexample, with its seed; undefined when none. */
  report: string | undefined;
}

const env = (name: string): string | undefined => process.env[name]?.trim() || undefined;

/** Runs the model against `harness`; `label` names the harness in the figures line. */
export async function runModel(
  harness: Harness,
  label: string,
  defaults: { runs: number; commands?: number; timeLimitS?: number },
): Promise<ModelFigures> {
  const numRuns = Number(env("MODEL_RUNS") ?? defaults.runs);
  const maxCommands = Number(env("MODEL_COMMANDS") ?? defaults.commands ?? 8);
  const seed = env("MODEL_SEED");
  const path = env("MODEL_PATH");
  const replayPath = env("MODEL_REPLAY");
  const focus = env("MODEL_FOCUS")
    ?.split(",")
    .map((s) => s.trim()) as InvariantId[] | undefined;
  const maxShrinks = Number(env("MODEL_SHRINKS") ?? 60);
  const timeLimitMs = Number(env("MODEL_TIME_LIMIT_S") ?? defaults.timeLimitS ?? 120) * 1000;

  const figures: ModelFigures = {
    sequences: 0,
    events: 0,
    checked: 0,
    violated: 0,
    found: [],
    observable: await probeObservable(harness),
    unobservable: [],
    risks: [],
    report: undefined,
  };
  let counter = 0;
  // Invariants already reported by a shrunk counterexample: later rounds look for the others.
  const reported = new Set<InvariantId>();
  const property = fc.asyncProperty(
    fc.limitShrink(
      fc.commands(commandArbs, { maxCommands, ...(replayPath && { replayPath }) }),
      maxShrinks,
    ),
    async (commands) => {
      counter += 1;
      const payer = await harness.chain.newPayer();
      const seq = new Sequence(
        harness,
        payer,
        `s${Date.now().toString(36)}${counter}`,
        await harness.chain.blockNumber(),
      );
      const setup = (): { model: Model; real: Sequence } => ({
        model: { payments: 0, tokens: 0 },
        real: seq,
      });
      try {
        await fc.asyncModelRun(setup, commands);
        await drain(seq);
      } finally {
        seq.setFault(undefined);
      }
      const { transfers, receipts } = await settled(seq);
      const verdict = judge(seq, transfers, receipts, figures.observable);
      figures.sequences += 1;
      figures.events += seq.events.length;
      figures.checked += verdict.checked;
      figures.violated += verdict.violations.length;
      figures.unobservable.push(...verdict.unobservable);
      figures.risks.push(...verdict.risks);
      for (const v of verdict.violations) figures.found.push({ ...v, events: seq.events });
      const failing = verdict.violations.filter(
        (v) => (!focus || focus.includes(v.invariant)) && !reported.has(v.invariant),
      );
      if (failing.length > 0) {
        throw new Error(
          `${failing.length} invariant(s) broken:\n` +
            failing.map((v) => `  [${v.invariant}] ${v.detail}`).join("\n") +
            `\n  events: ${seq.events.join(" → ")}`,
        );
      }
    },
  );
  const started = Date.now();
  const reports: string[] = [];
  let runsLeft = numRuns;
  let round = 0;
  // Each round runs until a sequence breaks an invariant not reported yet, and shrinks it.
  while (runsLeft > 0 && Date.now() - started < timeLimitMs) {
    round += 1;
    const details = await fc.check(property, {
      numRuns: runsLeft,
      ...(seed !== undefined && { seed: Number(seed) + round - 1 }),
      ...(path !== undefined && round === 1 && { path }),
      // The budget bounds shrinking too: a run stops where it is and reports what it has.
      interruptAfterTimeLimit: Math.max(1, timeLimitMs - (Date.now() - started)),
      markInterruptAsFailure: false,
      verbose: 1,
    });
    // Out of time before a sequence ran: nothing was found (fast-check calls that a failure).
    if (!details.failed || details.counterexample === null) break;
    const message =
      details.errorInstance instanceof Error
        ? details.errorInstance.message
        : String(details.errorInstance);
    const broken = [...message.matchAll(/^ {2}\[([a-z0-9-]+)\]/gm)].map((m) => m[1] as InvariantId);
    for (const id of broken) reported.add(id);
    reports.push(
      `[model] round ${round}: ${[...new Set(broken)].join(", ")} — replay with MODEL_SEED=${details.seed}` +
        `${details.counterexamplePath ? ` MODEL_PATH=${details.counterexamplePath}` : ""}` +
        `${replayOf(details.counterexample?.[0])}\n` +
        `  shrunk sequence: ${details.counterexample?.[0]?.toString() ?? "?"}\n${message}`,
    );
    if (seed !== undefined || broken.length === 0) break;
    // The failing run's sequences and their shrinks used up runs too.
    runsLeft -= Math.max(1, details.numRuns);
  }
  if (reports.length > 0) figures.report = reports.join("\n");
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `[figures] model (${label}): ${figures.sequences} sequences, ${figures.events} events, ` +
      `${figures.checked} invariants checked, ${figures.violated} violated (${seconds} s)`,
  );
  console.log(
    `[model] runtime: a client's disconnect before the answer ${figures.observable.disconnectBeforeAnswer ? "reaches" : "does not reach"} ` +
      `the Worker; one that leaves a stream ${figures.observable.disconnectMidStream ? "is" : "is not"} noticed`,
  );
  for (const [label, list] of [
    ["not observable here", figures.unobservable],
    ["documented risk taken", figures.risks],
  ] as const) {
    if (list.length === 0) continue;
    const kinds = new Map<string, number>();
    for (const v of list) {
      const why = /\[([^\]]*)\]$/.exec(v.detail)?.[1] ?? "";
      const kind = `${v.invariant}: ${why}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    console.log(
      `[model] ${label}: ${list.length} (not counted as violations)\n` +
        [...kinds].map(([kind, n]) => `  - ${n}× ${kind}`).join("\n"),
    );
  }
  if (figures.found.length > 0) {
    // One line per kind of violation seen (any run, shrinks included), with a sequence showing it.
    const seen = new Map<string, string>();
    for (const v of figures.found) {
      const kind = `${v.invariant}: ${v.detail
        .replace(/^step \d+ /, "")
        .replace(/\/s[0-9a-z]+-[\w-]+/g, "/…")
        .replace(/0x[0-9a-f]{16,}/g, "0x…")
        .replace(/permit2:\d+/g, "permit2:…")
        .slice(0, 140)}`;
      if (!seen.has(kind)) seen.set(kind, v.events.join(" → "));
    }
    console.log(
      `[model] kinds of violation seen (${seen.size}):\n` +
        [...seen]
          .slice(0, 40)
          .map(([kind, events]) => `  - ${kind}\n      in: ${events}`)
          .join("\n"),
    );
  }
  if (figures.report) {
    const kinds = [...new Set(figures.found.map((v) => v.invariant))];
    console.log(
      `[model] invariants broken: ${kinds.map((k) => `${k} (${INVARIANTS[k]})`).join("; ")}\n` +
        figures.report,
    );
  }
  return figures;
}

/**
 * The patient clients' last step, with every facilitator healthy: whoever sent a payment (the
 * payer, or a copier with another request) and last got "pending" or "in progress" for that
 * request (in its JSON, or in the closing event of a metered stream, which asks for the same
 * payment again) sends it once more; whoever sent one with a payment id and got an answer that
 * broke before its content arrived (and the payment delivered nothing) sends that same request
 * again, the documented remedy for a body that breaks after its settlement.
 */
async function drain(seq: Sequence): Promise<void> {
  const last = new Map<string, Observation & { payment: number }>();
  for (const o of seq.observations) {
    if (o.payment === undefined) continue;
    last.set(`${o.payment} ${o.method} ${o.path} ${o.body ?? ""}`, { ...o, payment: o.payment });
  }
  const waiting = [...last.values()].filter((o) =>
    [o.code, o.streamError].some((c) => c === "payment_pending" || c === "payment_in_progress"),
  );
  const broke = [...last.values()].filter(
    (o) =>
      seq.payments[o.payment]?.paymentId !== undefined &&
      (o.broken === true || (o.status === 0 && o.wentAway === undefined)) &&
      !seq.observations.some((p) => p.payment === o.payment && p.delivered),
  );
  if (waiting.length === 0 && broke.length === 0) return;
  await new Promise((r) => setTimeout(r, 300));
  seq.step += 1;
  for (const [o, why] of [
    ...waiting.map((o) => [o, ""] as const),
    ...broke.map((o) => [o, " whose answer broke"] as const),
  ]) {
    seq.events.push(`retry(payment #${o.payment} ${o.method}, as a patient client${why})`);
    await seq.resend("retry", o.payment, { method: o.method, path: o.path, body: o.body });
  }
}

/**
 * The chain's transfers to the seller and the ledger's receipts for this payer, once they stop
 * changing (settlements and receipts written after the answer, with `waitUntil`).
 */
async function settled(
  seq: Sequence,
): Promise<{ transfers: SellerTransfer[]; receipts: LedgerReceipt[] }> {
  const { harness, payer } = seq;
  let last = "";
  let stableSince = Date.now();
  const deadline = Date.now() + 6000;
  for (;;) {
    const transfers = await harness.chain.sellerTransfers(
      payer.address,
      harness.payTo,
      seq.startBlock,
    );
    const receipts = await ledger(harness, payer.address);
    const now = `${transfers.length}/${receipts.length}`;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 700 || Date.now() > deadline) {
      return { transfers, receipts };
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function ledger(harness: Harness, payer: string): Promise<LedgerReceipt[]> {
  const response = await fetch(
    `${harness.workerUrl}/__x402/admin/receipts?payer=${payer}&limit=10000`,
    { headers: { Authorization: `Bearer ${harness.adminToken}` } },
  );
  if (!response.ok) throw new Error(`admin receipts: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { receipts: LedgerReceipt[] }).receipts;
}

/** ` MODEL_REPLAY=<replayPath>` of a commands counterexample, as fast-check prints it. */
function replayOf(commands: unknown): string {
  const text = String(commands ?? "");
  const found = /replayPath="([^"]*)"/.exec(text)?.[1];
  return found ? ` MODEL_REPLAY='${found}'` : "";
}
