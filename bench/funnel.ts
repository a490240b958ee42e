/**
 * What counting a 402 for the operator's funnel adds to the Worker's CPU per request: the
 * request path's one call (`Funnel.record` → `outcomeOf` + `FunnelCounter.count` + `schedule`),
 * timed in Node on the Worker's own src/funnel code (V8 in both), against building the 402 itself
 * (`challengeResponse`) as the yardstick. The write to D1 is not on the request path (it happens
 * after the answer, once per batch) and is not timed here. Run: `node bench/funnel.ts`.
 */
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, next) {
    if (/^\.{1,2}\//.test(specifier) && !/\.[cm]?[jt]s$/.test(specifier)) {
      try {
        return next(`${specifier}.ts`, context);
      } catch {
        return next(`${specifier}/index.ts`, context);
      }
    }
    return next(specifier, context);
  },
});

interface Counter {
  count(key: unknown, outcome: unknown): void;
  schedule(defer: (work: Promise<unknown>) => void): void;
}
interface FunnelModule {
  FunnelCounter: new (sink: unknown, options: unknown) => Counter;
  outcomeOf(request: Request, response: Response): unknown;
}
interface PricingModule {
  challengeResponse(input: unknown): Response;
}

const root = new URL("../src/", import.meta.url);
const funnel = (await import(new URL("funnel/index.ts", root).href)) as FunnelModule;
const pricing = (await import(
  new URL("paywall/challenge-response.ts", root).href
)) as PricingModule;

const OFFER = {
  scheme: "exact",
  network: "eip155:84532",
  amount: "1000",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  payTo: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  maxTimeoutSeconds: 60,
  extra: { name: "USDC", version: "2" },
  description: "Demo JSON API",
  mimeType: "application/json",
  display: "$0.001",
};

const SAMPLES = 200_000;
const ROUNDS = 5;
const counter = new funnel.FunnelCounter(
  { write: async () => undefined },
  { flushMs: 5000, sleep: () => new Promise(() => undefined) },
);
const keys = Array.from({ length: 50 }, (_, i) => ({
  rule: `rules[${i % 12}]`,
  crawler: i % 3 === 0 ? `bot-${i}` : "",
  crawlerKey: i % 3 === 0 ? `key-${i}` : "",
}));
const request = new Request("https://example.com/api/report");
const challenge = pricing.challengeResponse({
  offer: OFFER,
  resourceUrl: "https://example.com/api/report",
  html: false,
});
const defer = (): void => undefined;

function timeCounting(): number {
  const start = performance.now();
  for (let i = 0; i < SAMPLES; i++) {
    const outcome = funnel.outcomeOf(request, challenge);
    if (outcome) counter.count(keys[i % keys.length], outcome);
    counter.schedule(defer);
  }
  return ((performance.now() - start) * 1000) / SAMPLES;
}

function timeChallenge(): number {
  const n = SAMPLES / 10;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    pricing.challengeResponse({
      offer: OFFER,
      resourceUrl: `https://example.com/api/r${i}`,
      html: false,
    });
  }
  return ((performance.now() - start) * 1000) / n;
}

timeCounting();
timeChallenge();
const counting: number[] = [];
const building: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  counting.push(timeCounting());
  building.push(timeChallenge());
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const added = median(counting);
const base = median(building);
console.log(
  JSON.stringify({
    countUsPer402: Number(added.toFixed(3)),
    build402Us: Number(base.toFixed(3)),
    addedShare: `${((100 * added) / base).toFixed(1)}%`,
    rounds: ROUNDS,
    samplesPerRound: SAMPLES,
  }),
);
