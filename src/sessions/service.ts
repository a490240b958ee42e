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

/**
 * Per isolate, per `SESSIONS` namespace: what is remembered. Only data is shared between
 * requests, never a promise: in workerd a request that waits on another request's I/O is
 * cancelled as hung, or its own I/O refused.
 */
const memories = new WeakMap<DurableObjectNamespace<PayerSessions>, SessionMemory>();

/** Options for tests: the clock. */
export interface SessionServiceOptions {
  now?: () => number;
}

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
  let memory = memories.get(namespace);
  if (!memory) {
    memory = new SessionMemory();
    memories.set(namespace, memory);
  }
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
        if (remembered.type === "admit") return fromMemory(remembered.pass, remembered.remaining);
        const id = objectOf(token);
        if (!id) return { type: "refused", reason: "the session token is malformed" };
        const hash = await memory.hash(token);
        const objectId = id.toString();
        // Leases are taken only by a lone call: concurrent calls each spend exactly their use.
        const lease = defer ? memory.leaseSize(token, at) : 0;
        memory.calling(token, +1);
        let answer: Access;
        try {
          answer = await stubFor(id).useToken(hash, want, 1 + lease);
        } finally {
          memory.calling(token, -1);
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
