export { PayerSessions } from "./store";
export type { EntitlementView, GrantInput } from "./store";
export { durableSessions } from "./service";
export type { Admitted, GrantRequest, SessionResult, SessionService, Ticket } from "./service";
export { wantFor, scopeKey, priceMismatch } from "./scope";
export type { HeldPrice, Want } from "./scope";
export {
  SESSION_HEADER,
  SESSION_EXPIRES_HEADER,
  SESSION_REMAINING_HEADER,
  readToken,
  sessionCookie,
  stripSessionCredentials,
} from "./carrier";
export { SIWX_HEADER, checkSiwx, siwxChallenge } from "./siwx";
export type { SiwxContext } from "./siwx";
export { parseToken } from "./token";
