import fc from "fast-check";
import { commandArbs } from "./commands.ts";
import type { Model } from "./commands.ts";
import { INVARIANTS, judge } from "./invariants.ts";
import type { InvariantId, LedgerReceipt, Violation } from "./invariants.ts";
import { Sequence } from "./sequence.ts";
import type { Harness } from "./sequence.ts";
import type { SellerTransfer } from "./chain.ts";

/**
 * Runs the model: random sequences of events (commands.ts) against one harness, each judged by
 * the invariants (invariants.ts) once it is over. A sequence that breaks one is shrunk by
 * fast-check to a shorter one that still does, and printed with its seed so it can be replayed.
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
      const verdict = judge(seq, transfers, receipts);
      figures.sequences += 1;
      figures.events += seq.events.length;
      figures.checked += verdict.checked;
      figures.violated += verdict.violations.length;
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
  if (figures.found.length > 0) {
    // One line per kind of violation seen (any run, shrinks included), with a sequence showing it.
    const seen = new Map<string, string>();
    for (const v of figures.found) {
      const kind = `${v.invariant}: ${v.detail
        .replace(/^step \d+ /, "")
        .replace(/\/s[0-9a-z]+-[\w-]+/g, "/…")
        .replace(/0x[0-9a-f]{16,}/g, "0x…")
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
 * A patient client's last step: every payment whose last answer said it is pending or in
 * progress is sent once more, with every facilitator healthy.
 */
async function drain(seq: Sequence): Promise<void> {
  const last = new Map<number, string | undefined>();
  for (const o of seq.observations) if (o.payment !== undefined) last.set(o.payment, o.code);
  const waiting = [...last].filter(
    ([, code]) => code === "payment_pending" || code === "payment_in_progress",
  );
  if (waiting.length === 0) return;
  await new Promise((r) => setTimeout(r, 300));
  seq.step += 1;
  for (const [index] of waiting) {
    seq.events.push(`retry(payment #${index}, as a patient client)`);
    await seq.resend("retry", index);
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
