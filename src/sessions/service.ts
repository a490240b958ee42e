import { Coalescer, MAX_BATCH } from "./coalesce";
import { SessionMemory, PASS_MEMORY_MS } from "./local";
import type { RememberedPass } from "./local";
import { hashToken, newToken, parseToken } from "./token";
import type { Want } from "./scope";
import type { Access, EntitlementView, PayerSessions } from "./store";

/**
 * The paywall's view of session storage: payers' Durable Objects behind a small interface that
 * never throws. Each request touches at most one object: a token names its object, a payment or
 * a SIWx proof names its payer. A store that cannot be reached is `unavailable`, never a pass.
 */

/** Where a spent use lives, so it can be given back if the origin fails. */
export interface Ticket {
  objectId: string;
  entitlement: string;
  /** The isolate's lease the use came from, if it did (src/sessions/local.ts). */
  lease?: RememberedPass | undefined;
}

/** A request let in by a session, with what to tell the client. */
export interface Admitted {
  type: "admitted";
  payer: string;
  ticket: Ticket;
  /** A newly issued token (after a payment or a sign-in); absent when one was presented. */
  token?: string;
  expiresAt: number | null;
  remaining: number | null;
}

export type SessionResult =
  Admitted | { type: "refused"; reason: string } | { type: "unavailable"; reason: string };

/** What a settled payment on a session route buys. */
export interface GrantRequest {
  payer: string;
  want: Want;
  ttlSeconds: number | undefined;
  uses: number | undefined;
  payment: string;
}

/** Session operations the paywall and the admin API use. */
export interface SessionService {
  grant(request: GrantRequest): Promise<SessionResult>;
  /**
   * Spends one use of a token for `want`. `defer` (the request's `waitUntil`) lets the service
   * lease uses to this isolate and give the unspent ones back after the answer; without it,
   * nothing is leased.
   */
  useToken(
    token: string,
    want: Want,
    defer?: ((work: Promise<unknown>) => void) | undefined,
  ): Promise<SessionResult>;
  signIn(
    proof: { address: string; nonce: string; nonceExpiresAt: number },
    want: Want,
  ): Promise<SessionResult>;
  refund(ticket: Ticket): Promise<void>;
  list(payer: string): Promise<EntitlementView[]>;
  revokeToken(token: string): Promise<boolean>;
  revokePayer(payer: string, scope?: string): Promise<number>;
}

/** Per isolate, per `SESSIONS` namespace: what is remembered and the calls being coalesced. */
const isolates = new WeakMap<
  DurableObjectNamespace<PayerSessions>,
  { memory: SessionMemory; lanes: Coalescer<Access> }
>();

/** Options for tests: the clock. */
export interface SessionServiceOptions {
  now?: () => number;
}

/**
 * Sessions in the `SESSIONS` Durable Object namespace, one object per payer. Repeat access by
 * token: a time-limited pass is served from this isolate's memory for a few seconds after the
 * store admitted it (src/sessions/local.ts); a use-counted one always asks the store, and the
 * requests for one token that arrive together share one call (src/sessions/coalesce.ts).
 */
export function durableSessions(
  namespace: DurableObjectNamespace<PayerSessions>,
  options: SessionServiceOptions = {},
): SessionService {
  const now = options.now ?? Date.now;
  let isolate = isolates.get(namespace);
  if (!isolate) {
    isolate = { memory: new SessionMemory(), lanes: new Coalescer<Access>(MAX_BATCH) };
    isolates.set(namespace, isolate);
  }
  const { memory, lanes } = isolate;
  const forPayer = (payer: string) => namespace.idFromName(`payer:${payer.toLowerCase()}`);
  const stubFor = (id: DurableObjectId) => namespace.get(id);
  const objectOf = (token: string): DurableObjectId | undefined => {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    try {
      return namespace.idFromString(parsed.objectId);
    } catch {
      return undefined;
    }
  };
  const admitted = (access: Access, objectId: string, token?: string): SessionResult => {
    if (!access.ok) return { type: "refused", reason: access.reason };
    const result: Admitted = {
      type: "admitted",
      // EIP-55, as the paid path reports it to the origin.
      payer: memory.checksum(access.payer),
      ticket: { objectId, entitlement: access.entitlement },
      expiresAt: access.expiresAt,
      remaining: access.remaining,
    };
    if (token !== undefined) result.token = token;
    return result;
  };

  /** Ends a lease when its time is up and gives its unspent uses back to the store. */
  const giveBackLater = async (token: string, pass: RememberedPass): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, PASS_MEMORY_MS));
    const unspent = memory.endLease(token, pass);
    if (unspent === 0) return;
    try {
      await stubFor(namespace.idFromString(pass.objectId)).refund(pass.entitlement, unspent);
    } catch (error) {
      console.error("could not give back leased session uses", pass.entitlement, unspent, error);
    }
  };

  return {
    grant: (request) =>
      guard(async () => {
        const id = forPayer(request.payer);
        const token = newToken(id.toString());
        const access = await stubFor(id).grant({
          payer: request.payer,
          tokenHash: await hashToken(token),
          want: request.want,
          ttlSeconds: request.ttlSeconds,
          uses: request.uses,
          payment: request.payment,
        });
        return admitted(access, id.toString(), token);
      }),
    useToken: (presented, want, defer) =>
      guard(async () => {
        const token = presented.trim();
        const at = now();
        const remembered = memory.check(token, want, at);
        if (remembered.type === "refuse") return { type: "refused", reason: remembered.reason };
        if (remembered.type === "admit") {
          const { pass, remaining } = remembered;
          const lease = pass.left === null ? undefined : pass;
          return {
            type: "admitted",
            payer: pass.payer,
            ticket: { objectId: pass.objectId, entitlement: pass.entitlement, lease },
            expiresAt: pass.expiresAt,
            remaining,
          };
        }
        const id = objectOf(token);
        if (!id) return { type: "refused", reason: "the session token is malformed" };
        const hash = await memory.hash(token);
        const objectId = id.toString();
        const lease = defer ? memory.leaseSize(token, at) : 0;
        const key = `${hash} ${JSON.stringify(want)}`;
        const access = await lanes.run(key, async (count) => {
          const answer = await stubFor(id).useToken(hash, want, count + lease);
          if (!answer.ok || !answer.held) return spread(answer, count, 0);
          const granted = answer.granted ?? 1;
          const leased = answer.remaining === null ? 0 : Math.max(0, granted - count);
          if (answer.remaining === null || leased > 0) {
            const pass: RememberedPass = {
              objectId,
              entitlement: answer.entitlement,
              payer: memory.checksum(answer.payer),
              expiresAt: answer.expiresAt,
              held: answer.held,
              until: now() + PASS_MEMORY_MS,
              left: answer.remaining === null ? null : leased,
              storeRemaining: answer.remaining,
            };
            memory.remember(token, pass);
            if (leased > 0 && defer) defer(giveBackLater(token, pass));
          }
          return spread(answer, count, leased);
        });
        return admitted(access, objectId);
      }),
    signIn: (proof, want) =>
      guard(async () => {
        const id = forPayer(proof.address);
        const token = newToken(id.toString());
        const access = await stubFor(id).signIn(
          proof.nonce,
          proof.nonceExpiresAt,
          want,
          await hashToken(token),
        );
        return admitted(access, id.toString(), token);
      }),
    refund: async (ticket) => {
      if (ticket.lease && memory.giveBack(ticket.lease, now())) return;
      try {
        await stubFor(namespace.idFromString(ticket.objectId)).refund(ticket.entitlement);
      } catch (error) {
        console.error("could not refund a session use", ticket, error);
      }
    },
    list: async (payer) => stubFor(forPayer(payer)).list(),
    revokeToken: async (token) => {
      memory.forgetToken(token.trim());
      const id = objectOf(token);
      if (!id) return false;
      return stubFor(id).revokeToken(await hashToken(token.trim()));
    },
    revokePayer: async (payer, scope) => {
      memory.forgetPayer(payer, scope);
      return stubFor(forPayer(payer)).revokeEntitlements(scope);
    },
  };
}

/**
 * One store answer for `count` waiting requests, one each: of the uses it granted, `leased` stay
 * with the isolate and the others let the first waiters in, with the uses left after each; the
 * rest are told no uses are left; a refusal refuses them all.
 */
function spread(access: Access, count: number, leased: number): Access[] {
  if (!access.ok) return Array.from({ length: count }, () => access);
  const served = Math.min(count, (access.granted ?? 1) - leased);
  return Array.from({ length: count }, (_, i): Access => {
    if (i >= served) return { ok: false, reason: "the session has no uses left" };
    // Uses left after this request: the store's, the lease's, and those of later waiters.
    const remaining =
      access.remaining === null ? null : access.remaining + leased + (served - 1 - i);
    return { ...access, remaining };
  });
}

async function guard(run: () => Promise<SessionResult>): Promise<SessionResult> {
  try {
    return await run();
  } catch (error) {
    console.error("session store call failed", error);
    return { type: "unavailable", reason: "the session store could not be reached" };
  }
}
