/**
 * Tags on the paywall's own answers saying what they were (an error with its code, a session
 * use, a page paid from credit), kept beside the Response object in a WeakMap: nothing is added
 * to what the client receives, nothing outlives the answer, and reading one costs a map lookup.
 */

/** What an answer of the paywall's own was. */
export type OutcomeTag =
  | { type: "error"; code: string }
  | { type: "session" }
  | { type: "credit"; spent: { network: string; asset: string; amount: string } };

const tags = new WeakMap<Response, OutcomeTag>();

/** Tags `response` and returns it. */
export function tagOutcome(response: Response, tag: OutcomeTag): Response {
  tags.set(response, tag);
  return response;
}

/** The tag of `response`, if the paywall put one on it. */
export function outcomeTag(response: Response): OutcomeTag | undefined {
  return tags.get(response);
}
