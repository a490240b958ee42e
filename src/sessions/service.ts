import { SessionMemory, PASS_MEMORY_MS } from "./local";
import type { RememberedPass } from "./local";
import { MAX_CARRIED, RETRY_DELAYS_MS } from "./owed";
import { hashToken, newToken, parseToken } from "./token";
import type { Want } from "./scope";
import type { Access, Caller, EntitlementView, GrantInput, PayerSessions } from "./store";

/**
 * The paywall's view of session storage: payers' Durable Objects behind a small interface that
 * never throws. Each request touches at most one object: a token names its object, a payment or
 * a SIWx proof names its payer. A store that cannot be reached is `unavailable`, never a pass.
 *
 * What a payer paid for is never lost to a store fault: a settled payment's pass, a use given
 * back after an origin error, a lease's unspent uses and the uses of a call whose answer was lost
 * are owed to the store until it confirms them (src/sessions/owed.ts), each applied once.
 *
 * Why one file of about 400 lines: every call below shares the same carrying of owed writes and
 * the same lease bookkeeping with the isolate's memory, which only this closure holds.
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
  /**
   * false: a paid pass the store has not recorded yet (it could not be reached); the token is
   * the payer's all the same and opens the pass once the retried grant lands.
   */
  recorded?: false;
}

/** Seconds to wait before retrying when a pass's last uses are leased elsewhere. */
export const RETRY_AFTER_SECONDS = Math.ceil(PASS_MEMORY_MS / 1000);

/**
 * A session step's outcome. `retry`: the pass's last uses are leased to another isolate and may
 * come back within `retryAfter` seconds, so the client must retry, never pay again.
 */
export type SessionResult =
  | Admitted
  | { type: "refused"; reason: string }
  | { type: "unavailable"; reason: string }
  | { type: "retry"; reason: string; retryAfter: number };

/** Runs work after the answer (the request's `waitUntil`). */
type Defer = ((work: Promise<unknown>) => void) | undefined;

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
  /**
   * Records what a settled payment bought and issues its token. Idempotent by the payment; when
   * the store cannot be reached the token is issued all the same and the grant is retried
   * (after the answer with `defer`, and with the next store call for the payer).
   */
  grant(request: GrantRequest, defer?: Defer): Promise<SessionResult>;
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
  /**
   * Gives back a use the origin failed to answer: to its lease while that lasts, else to the
   * store, once; retried (after the answer with `defer`) until the store has it.
   */
  refund(ticket: Ticket, defer?: Defer): Promise<void>;
  list(payer: string): Promise<EntitlementView[]>;
  /**
   * Revokes a token (true when the store held it); the store remembers it either way, so a
   * grant still owed for it (src/sessions/owed.ts) never stores it later.
   */
  revokeToken(token: string): Promise<boolean>;
  /**
   * Revokes a payer's passes (all, or of `scope`), the number revoked; grants made before now
   * and still owed by an isolate are refused when they land.
   */
  revokePayer(payer: string, scope?: string): Promise<number>;
}

/**
 * Per isolate, per `SESSIONS` namespace: what is remembered. Only data is shared between
 * requests, never a promise: in workerd a request that waits on another request's I/O is
 * cancelled as hung, or its own I/O refused.
 */
const memories = new WeakMap<DurableObjectNamespace<PayerSessions>, SessionMemory>();

/** Options for tests: the clock, and this isolate's memory (another one is another isolate). */
export interface SessionServiceOptions {
  now?: () => number;
  memory?: SessionMemory;
}

/** Why a request is told to retry while this isolate's own lease of the last uses comes in. */
const LEASE_ON_ITS_WAY =
  "this pass's last uses are being taken by a request just before yours; retry in a second (nothing was charged)";

/** How long one request keeps retrying owed writes, at most. */
const RETRY_WINDOW_MS = RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 5_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sessions in the `SESSIONS` Durable Object namespace, one object per payer. Repeat access by
 * token spares store calls through this isolate's memory (src/sessions/local.ts): time-limited
 * passes remembered for a few seconds, and uses leased to an isolate that sees a token used often.
 */
export function durableSessions(
  namespace: DurableObjectNamespace<PayerSessions>,
  options: SessionServiceOptions = {},
): SessionService {
  const now = options.now ?? Date.now;
  let memory = options.memory ?? memories.get(namespace);
  if (!memory) {
    memory = new SessionMemory();
    memories.set(namespace, memory);
  }
  const owed = memory.owed;
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
    if (!access.ok) {
      if (!access.retry) return { type: "refused", reason: access.reason };
      return { type: "retry", reason: access.reason, retryAfter: RETRY_AFTER_SECONDS };
    }
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

  /** Sends the writes owed to `objectId`; true when none is left owed. */
  const catchUp = async (objectId: string): Promise<boolean> => {
    for (let round = 0; round < 4; round++) {
      const works = owed.for(objectId, now());
      if (works.length === 0) return true;
      try {
        await stubFor(namespace.idFromString(objectId)).catchUp(works);
      } catch (error) {
        console.error("session store writes are owed; retrying", objectId, error);
        return false;
      }
      owed.settled(works);
    }
    return owed.for(objectId, now()).length === 0;
  };

  /** Sends the owed writes now and, failing that, with backoff (one request at a time). */
  const catchUpWithRetries = async (objectId: string): Promise<void> => {
    if (await catchUp(objectId)) return;
    const at = now();
    if (!owed.startRetrying(objectId, at, at + RETRY_WINDOW_MS)) return;
    try {
      for (const delay of RETRY_DELAYS_MS) {
        await sleep(delay);
        if (await catchUp(objectId)) return;
      }
      console.error("session store writes still owed; the next call for the payer carries them");
    } finally {
      owed.stopRetrying(objectId);
    }
  };

  /** Ends a lease and owes the store its unspent uses; false when it had ended already. */
  const endLease = (token: string, pass: RememberedPass): boolean => {
    const unspent = memory.endLease(token, pass);
    if (unspent === undefined || pass.call === undefined) return false;
    owed.add(pass.objectId, { type: "return", id: pass.call, unspent }, now());
    return true;
  };

  /** A request admitted from memory; a lease's last use ends it (the store hears at once). */
  const fromLease = (
    token: string,
    { pass, remaining }: { pass: RememberedPass; remaining: number | null },
    defer: Defer,
  ): Admitted => {
    if (pass.left === 0 && defer && endLease(token, pass)) defer(catchUpWithRetries(pass.objectId));
    return fromMemory(pass, remaining);
  };

  /** Ends a lease when its time is up and gives its unspent uses back to the store. */
  const giveBackLater = async (token: string, pass: RememberedPass): Promise<void> => {
    await sleep(PASS_MEMORY_MS);
    if (endLease(token, pass)) await catchUpWithRetries(pass.objectId);
  };

  return {
    grant: (request, defer) =>
      guard(async () => {
        const id = forPayer(request.payer);
        const objectId = id.toString();
        const token = newToken(objectId);
        const at = now();
        const input: GrantInput = {
          payer: request.payer,
          tokenHash: await hashToken(token),
          want: request.want,
          ttlSeconds: request.ttlSeconds,
          uses: request.uses,
          payment: request.payment,
          at,
        };
        let access: Access;
        try {
          access = await stubFor(id).grant(input);
        } catch (error) {
          // The payment settled: the pass is the payer's. Its token goes out now; the grant
          // (idempotent by the payment) is retried until the store has it.
          console.error("a paid request's session is not recorded yet; retrying", error);
          owed.add(
            objectId,
            { type: "grant", id: `grant:${request.payment}`, grant: input },
            now(),
          );
          if (defer) defer(catchUpWithRetries(objectId));
          return {
            type: "admitted",
            payer: memory.checksum(request.payer),
            ticket: { objectId, entitlement: "" },
            token,
            expiresAt: request.ttlSeconds === undefined ? null : at + request.ttlSeconds * 1000,
            remaining: request.uses === undefined ? null : request.uses - 1,
            recorded: false,
          };
        }
        return admitted(access, objectId, token);
      }),
    useToken: (presented, want, defer) =>
      guard(async () => {
        const token = presented.trim();
        const at = now();
        const remembered = memory.check(token, want, at);
        if (remembered.type === "refuse") return { type: "refused", reason: remembered.reason };
        if (remembered.type === "admit") return fromLease(token, remembered, defer);
        // A lease that ran out unspent: its uses go back with this call, before it spends.
        if (remembered.lapsed) endLease(token, remembered.lapsed);
        const id = objectOf(token);
        if (!id) return { type: "refused", reason: "the session token is malformed" };
        const hash = await memory.hash(token);
        const objectId = id.toString();
        // Leases are taken only by a lone call: concurrent calls each spend exactly their use.
        const lease = defer ? memory.leaseSize(token, at) : 0;
        const caller: Caller = { call: crypto.randomUUID(), holder: memory.holder };
        const carried = owed.for(objectId, at);
        memory.calling(token, +1, caller.call);
        let answer: Access;
        try {
          answer = await stubFor(id).useToken(hash, want, 1 + lease, caller, carried);
        } catch (error) {
          // The store may have spent for this call and its answer be lost: whatever it spent
          // comes back, once (a call it never saw is barred from spending later).
          owed.add(objectId, { type: "return", id: caller.call, unspent: 1 + lease }, now());
          if (defer) defer(catchUpWithRetries(objectId));
          throw error;
        } finally {
          memory.calling(token, -1, caller.call);
        }
        owed.settled(carried);
        // More owed than one call carries: the rest follow after the answer.
        if (carried.length >= MAX_CARRIED && defer) defer(catchUpWithRetries(objectId));
        if (!answer.ok && answer.ownLeases) {
          // This isolate leased the last uses: a concurrent request's lease may have come in
          // meanwhile (serve from it), or still be on its way (retry, never pay again).
          const again = memory.check(token, want, now());
          if (again.type === "admit") return fromLease(token, again, defer);

          const coming = (call: string) => memory.inFlight(call) || owed.returning(call) > 0;
          if (answer.ownLeases.some(coming)) {
            return { type: "retry", reason: LEASE_ON_ITS_WAY, retryAfter: 1 };
          }
        }
        if (!answer.ok || !answer.held) return admitted(answer, objectId);
        const leased = answer.remaining === null ? 0 : Math.max(0, (answer.granted ?? 1) - 1);
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
            call: leased > 0 ? caller.call : undefined,
          };
          memory.remember(token, pass);
          if (leased > 0 && defer) defer(giveBackLater(token, pass));
        }
        // Uses left after this request: the store's and the lease's.
        const remaining = answer.remaining === null ? null : answer.remaining + leased;
        return admitted({ ...answer, remaining }, objectId);
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
    refund: async (ticket, defer) => {
      if (ticket.lease && memory.giveBack(ticket.lease, now())) return;
      if (ticket.entitlement === "") return; // a pass not recorded yet spent nothing
      const refund = {
        type: "refund" as const,
        id: crypto.randomUUID(),
        entitlement: ticket.entitlement,
      };
      owed.add(ticket.objectId, refund, now());
      if (await catchUp(ticket.objectId)) return;
      if (defer) defer(catchUpWithRetries(ticket.objectId));
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

/** A request admitted from a remembered pass or lease. */
function fromMemory(pass: RememberedPass, remaining: number | null): Admitted {
  const lease = pass.left === null ? undefined : pass;
  return {
    type: "admitted",
    payer: pass.payer,
    ticket: { objectId: pass.objectId, entitlement: pass.entitlement, lease },
    expiresAt: pass.expiresAt,
    remaining,
  };
}

async function guard(run: () => Promise<SessionResult>): Promise<SessionResult> {
  try {
    return await run();
  } catch (error) {
    console.error("session store call failed", error);
    return { type: "unavailable", reason: "the session store could not be reached" };
  }
}
