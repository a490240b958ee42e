import { getAddress } from "viem";
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
  useToken(token: string, want: Want): Promise<SessionResult>;
  signIn(
    proof: { address: string; nonce: string; nonceExpiresAt: number },
    want: Want,
  ): Promise<SessionResult>;
  refund(ticket: Ticket): Promise<void>;
  list(payer: string): Promise<EntitlementView[]>;
  revokeToken(token: string): Promise<boolean>;
  revokePayer(payer: string, scope?: string): Promise<number>;
}

/** Sessions in the `SESSIONS` Durable Object namespace, one object per payer. */
export function durableSessions(namespace: DurableObjectNamespace<PayerSessions>): SessionService {
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
      payer: getAddress(access.payer),
      ticket: { objectId, entitlement: access.entitlement },
      expiresAt: access.expiresAt,
      remaining: access.remaining,
    };
    if (token !== undefined) result.token = token;
    return result;
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
    useToken: (token, want) =>
      guard(async () => {
        const id = objectOf(token);
        if (!id) return { type: "refused", reason: "the session token is malformed" };
        const access = await stubFor(id).useToken(await hashToken(token.trim()), want);
        return admitted(access, id.toString());
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
      try {
        await stubFor(namespace.idFromString(ticket.objectId)).refund(ticket.entitlement);
      } catch (error) {
        console.error("could not refund a session use", ticket, error);
      }
    },
    list: async (payer) => stubFor(forPayer(payer)).list(),
    revokeToken: async (token) => {
      const id = objectOf(token);
      if (!id) return false;
      return stubFor(id).revokeToken(await hashToken(token.trim()));
    },
    revokePayer: async (payer, scope) => stubFor(forPayer(payer)).revokeEntitlements(scope),
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
