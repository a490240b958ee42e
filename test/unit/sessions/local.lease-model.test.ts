import { afterEach, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({
  DurableObject: class {
    constructor(
      readonly ctx: unknown,
      readonly env: unknown,
    ) {}
  },
}));

import { SessionMemory } from "../../../src/sessions/local.ts";
import { durableSessions } from "../../../src/sessions/service.ts";
import type { SessionService, Ticket } from "../../../src/sessions/service.ts";
import { PayerSessions } from "../../../src/sessions/store.ts";
import type { Access } from "../../../src/sessions/store.ts";
import type { Want } from "../../../src/sessions/scope.ts";
import { hashToken, newToken } from "../../../src/sessions/token.ts";
import { durableState, namespaceOver } from "../session-store-harness.ts";

/**
 * A randomised model of one use-counted pass used from several isolates against the real store,
 * with leases, refunds, store outages, lost answers, interleaved calls and isolates that die.
 * After every event: never more uses served than paid. Whenever the store says a pass is spent:
 * no other live isolate holds unspent leased uses. After each sequence, once the store is back
 * and time has passed: every use paid for is served, back in the store, or was held by an
 * isolate that died (none is created, none lost otherwise), and nothing is owed any more.
 * Seeded: a violation prints the seed and the events, and `SESSION_MODEL_SEED` replays one.
 * `SESSION_MODEL_RUNS` sets how many sequences run (default 200).
 */

const OBJECT_ID = "ef".repeat(32);
const WANT: Want = {
  scope: "route:model.example * * /api/*",
  network: "eip155:84532",
  asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
  amount: "1000",
};
const RUNS = Number(process.env["SESSION_MODEL_RUNS"] ?? 200);
const ONLY_SEED = process.env["SESSION_MODEL_SEED"];
const STEPS = 60;

/** mulberry32: a small seeded generator, so a failing sequence can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Isolate {
  index: number;
  memory: SessionMemory;
  service: SessionService;
  alive: boolean;
  inflight: Ticket[];
  work: Array<Promise<unknown>>;
}

interface Figures {
  events: number;
  checks: number;
  served: number;
  refusals: number;
  retries: number;
}

async function sequence(seed: number, figures: Figures): Promise<string[]> {
  const random = generator(seed);
  const below = (n: number) => Math.floor(random() * n);
  const log: string[] = [];
  const violations: string[] = [];
  vi.setSystemTime(1_800_000_000_000);
  const store = new PayerSessions(durableState(), {});
  const token = newToken(OBJECT_ID);
  const paid = 5 + below(30);
  store.grant({
    payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    tokenHash: await hashToken(token),
    want: WANT,
    ttlSeconds: undefined,
    uses: paid,
    payment: `model-${seed}`,
  });
  let served = 1; // the paid request's own use
  let down = false;
  let calm = false;
  const isolates: Isolate[] = [];
  const pending: Array<Promise<unknown>> = [];

  const spawn = async () => {
    const memory = new SessionMemory();
    // Hashed once ahead: every later step interleaves by the seed alone, not by the crypto.
    await memory.hash(token);
    const me = { index: isolates.length, memory, alive: true, inflight: [], work: [] } as {
      service?: SessionService;
    } & Omit<Isolate, "service">;
    const namespace = namespaceOver(store, OBJECT_ID, {
      pause: async () => {
        for (let i = below(4); i > 0; i--) await Promise.resolve();
      },
      fate: () => {
        if (!me.alive || (down && !calm)) return "refuse";
        if (calm) return "pass";
        const r = random();
        return r < 0.04 ? "refuse" : r < 0.08 ? "lose" : "pass";
      },
      saw: (method, _args, result) => {
        if (method !== "useToken") return;
        const access = result as Access;
        if (access.ok || access.retry || !access.reason.includes("no uses left")) return;
        figures.checks += 1;
        const elsewhere = isolates
          .filter((other) => other !== me && other.alive)
          .reduce((sum, other) => sum + other.memory.leased(), 0);
        if (elsewhere > 0) {
          violations.push(
            `402 in isolate ${me.index} while ${elsewhere} uses are leased elsewhere`,
          );
        }
      },
    });
    me.service = durableSessions(namespace, { memory });
    isolates.push(me as Isolate);
  };
  const defer = (isolate: Isolate) => (work: Promise<unknown>) => void isolate.work.push(work);
  const alive = () => isolates.filter((isolate) => isolate.alive);
  const inflight = () => isolates.reduce((sum, isolate) => sum + isolate.inflight.length, 0);
  const use = (isolate: Isolate) => {
    const request = isolate.service.useToken(token, WANT, defer(isolate)).then((result) => {
      if (result.type === "admitted") {
        // A request answered by an isolate that died meanwhile: counted as served.
        if (isolate.alive) isolate.inflight.push(result.ticket);
        else served += 1;
      } else if (result.type === "refused") {
        figures.refusals += 1;
        figures.checks += 1;
        const own = isolate.alive ? isolate.memory.leased() : 0;
        if (own > 0) violations.push(`402 in isolate ${isolate.index} holding ${own} leased uses`);
        if (!result.reason.includes("no uses left")) violations.push(`refused: ${result.reason}`);
      } else if (result.type === "retry") {
        figures.retries += 1;
      }
    });
    pending.push(request);
  };

  for (let i = 2 + below(3); i > 0; i--) await spawn();
  let maxLost = 0;
  const dead: Isolate[] = [];
  for (let step = 0; step < STEPS; step++) {
    figures.events += 1;
    const r = random();
    if (r < 0.45) {
      const isolate = alive()[below(alive().length)]!;
      log.push(`use@${isolate.index}`);
      use(isolate);
    } else if (r < 0.65) {
      const holding = alive().filter((isolate) => isolate.inflight.length > 0);
      const isolate = holding[below(holding.length)];
      if (isolate) {
        const [ticket] = isolate.inflight.splice(below(isolate.inflight.length), 1);
        if (random() < 0.75) {
          log.push(`served@${isolate.index}`);
          served += 1;
        } else {
          log.push(`origin-failed@${isolate.index}`);
          pending.push(isolate.service.refund(ticket!, defer(isolate)));
        }
      }
    } else if (r < 0.8) {
      const ms = below(2_500);
      log.push(`wait ${ms}ms`);
      await vi.advanceTimersByTimeAsync(ms);
    } else if (r < 0.85) {
      down = !down;
      log.push(down ? "store down" : "store up");
    } else if (r < 0.88) {
      const idle = alive().filter((isolate) => isolate.inflight.length === 0);
      const isolate = idle[below(idle.length)];
      if (isolate && alive().length > 1) {
        log.push(`isolate ${isolate.index} dies`);
        isolate.alive = false;
        dead.push(isolate);
        await spawn();
      }
    } else {
      for (let i = below(6); i > 0; i--) await Promise.resolve();
    }
    figures.checks += 1;
    if (served + inflight() > paid) {
      violations.push(`served ${served} + in flight ${inflight()} > paid ${paid}`);
    }
    if (violations.length > 0) break;
  }

  // The store comes back; requests finish; leases end; owed writes are retried.
  down = false;
  calm = true;
  await Promise.all(pending);
  for (const isolate of isolates) {
    served += isolate.inflight.length;
    isolate.inflight = [];
  }
  await vi.advanceTimersByTimeAsync(60_000);
  // What an isolate still owes goes with its next call for the pass.
  for (const isolate of alive()) if (isolate.memory.owed.size > 0) use(isolate);
  await Promise.all(pending);
  for (const isolate of isolates) served += isolate.inflight.length;
  await vi.advanceTimersByTimeAsync(60_000);
  await Promise.all(isolates.flatMap((isolate) => isolate.work));

  for (const isolate of dead) maxLost += isolate.memory.leased() + isolate.memory.owed.uses();
  for (const isolate of alive()) {
    if (isolate.memory.owed.size > 0 || isolate.memory.leased() > 0) {
      violations.push(`isolate ${isolate.index} still holds uses or owes writes`);
    }
  }
  const left = store.list()[0]?.remaining ?? 0;
  const lost = paid - left - served;
  figures.checks += 2;
  figures.served += served;
  if (lost < 0) violations.push(`paid ${paid}, served ${served}, ${left} left: more than paid`);
  if (lost > maxLost) {
    violations.push(
      `paid ${paid}, served ${served}, ${left} left: ${lost} lost (dead held ${maxLost})`,
    );
  }
  if (violations.length > 0) violations.push(`seed ${seed}: ${log.join(", ")}`);
  return violations;
}

afterEach(() => {
  vi.useRealTimers();
});

it("should never serve more uses than paid, never answer 402 while uses are leased elsewhere, and lose no use to faults", async () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
  const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
  const figures: Figures = { events: 0, checks: 0, served: 0, refusals: 0, retries: 0 };
  const seeds = ONLY_SEED === undefined ? [...Array(RUNS).keys()] : [Number(ONLY_SEED)];
  const violated: string[] = [];
  for (const seed of seeds) {
    const violations = await sequence(seed, figures);
    if (violations.length > 0) {
      violated.push(...violations);
      break;
    }
  }
  error.mockRestore();
  console.log(
    `[figures] session leases model: ${seeds.length} sequences, ${figures.events} events, ` +
      `${figures.checks} invariants checked, ${violated.length} violated ` +
      `(${figures.served} uses served, ${figures.refusals} spent, ${figures.retries} retries)`,
  );
  expect(violated).toEqual([]);
}, 120_000);
