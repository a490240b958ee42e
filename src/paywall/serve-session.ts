import { tagOutcome } from "../funnel";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import type { Admitted } from "../sessions";
import { answerKind, withoutContent } from "./answers";
import { errorResponse, sessionResponse } from "./responses";
import type { SessionDeps } from "./session-gate";

/**
 * The serve step of a request a session let in (session-gate.ts admitted it): forwarded with
 * the pass's payer, the pass's terms added to the answer. Only an answer that delivers the
 * content spends the use (src/paywall/answers.ts); one the origin fails is given back.
 */

/** What serving a session request needs. */
export interface ServeSessionDeps {
  origin: OriginOptions;
  sessions?: SessionDeps | undefined;
  /** The request's `waitUntil`, for giving a use back after the answer. */
  defer?: ((work: Promise<unknown>) => void) | undefined;
}

/** Serves a request a session let in; the use is given back if the origin fails it. */
export async function serveSession(
  request: { request: Request; forwardPath: string },
  admitted: Admitted,
  scope: string,
  deps: ServeSessionDeps,
): Promise<Response> {
  // A pass without a use count spent nothing to give back.
  const refund = async () => {
    if (admitted.remaining === null) return;
    await deps.sessions?.service.refund(admitted.ticket, deps.defer);
  };
  const forwarded = await forwardToOrigin({ ...request, payer: admitted.payer }, deps.origin);
  if (forwarded.type === "unreachable") {
    await refund();
    return errorResponse("origin_unreachable", `${forwarded.reason}; no session use was spent`);
  }
  const kind = answerKind(forwarded.response.status);
  if (kind !== "content") {
    await refund();
    if (kind === "no-content") return withoutContent(forwarded.response);
    if (kind === "error") return forwarded.response;
    await forwarded.response.body?.cancel();
    return errorResponse(
      "origin_unreachable",
      `the origin answered ${forwarded.response.status}; no session use was spent`,
    );
  }
  return tagOutcome(sessionResponse(forwarded.response, admitted, scope), { type: "session" });
}
