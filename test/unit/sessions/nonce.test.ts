import { describe, expect, it } from "vitest";
import { checkNonce, issueNonce } from "../../../src/sessions/nonce.ts";

/** SIWx nonces: stateless, bound to what they were issued for, and expiring. */

const SECRET = "unit-test-session-secret-0123456789abcdef";

describe("SIWx nonces", () => {
  it("should accept its own nonce for its binding until it expires", async () => {
    const now = Date.now();
    const nonce = await issueNonce(SECRET, "host\nscope", 60_000, now);
    expect(nonce).toMatch(/^[0-9a-f]{96}$/);
    expect(await checkNonce(SECRET, nonce, "host\nscope", now)).toMatchObject({ ok: true });
    expect(await checkNonce(SECRET, nonce, "host\nother", now)).toMatchObject({ ok: false });
    expect(
      await checkNonce("another-secret-0123456789abcdefghij", nonce, "host\nscope", now),
    ).toMatchObject({ ok: false });
    expect(await checkNonce(SECRET, nonce, "host\nscope", now + 61_000)).toEqual({
      ok: false,
      reason: "the nonce has expired; sign a fresh one",
    });
  });

  it("should refuse a nonce whose expiry was moved", async () => {
    const nonce = await issueNonce(SECRET, "b", 1000, 0);
    const extended = "ffffffff" + nonce.slice(8);
    expect(await checkNonce(SECRET, extended, "b", 0)).toMatchObject({ ok: false });
  });
});
