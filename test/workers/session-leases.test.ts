import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

/**
 * The session store's side of use leases, called directly: while uses leased to one isolate may
 * still come back, another isolate's request on that pass is told to retry (a 503), not that the
 * pass is spent (which a paying client would answer with a second payment).
 */

const WANT = {
  scope: "route:leases.test /api/*",
  network: "eip155:84532",
  asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
  amount: "1000",
};

function store() {
  if (!env.SESSIONS) throw new Error("SESSIONS is not bound");
  return env.SESSIONS.get(env.SESSIONS.newUniqueId());
}

describe("leased uses in the session store", () => {
  it("should ask for a retry, not a new payment, while leased uses may come back (regression)", async () => {
    const sessions = store();
    const granted = await sessions.grant({
      payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      tokenHash: "a".repeat(64),
      want: WANT,
      ttlSeconds: 3600,
      uses: 5,
      payment: `eip155:84532:0x${"1".repeat(64)}`,
    });
    expect(granted).toMatchObject({ ok: true, remaining: 4 });
    // One isolate leases every use left.
    const leased = await sessions.useToken("a".repeat(64), WANT, 17);
    expect(leased).toMatchObject({ ok: true, remaining: 0, granted: 4 });
    // Another isolate's request meanwhile: retry, the uses are not gone.
    const other = await sessions.useToken("a".repeat(64), WANT, 1);
    expect(other).toMatchObject({ ok: false, retry: true });
  });

  it("should say a pass is spent when no lease holds its uses", async () => {
    const sessions = store();
    await sessions.grant({
      payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      tokenHash: "b".repeat(64),
      want: WANT,
      ttlSeconds: 3600,
      uses: 2,
      payment: `eip155:84532:0x${"2".repeat(64)}`,
    });
    expect(await sessions.useToken("b".repeat(64), WANT, 1)).toMatchObject({ ok: true });
    const spent = await sessions.useToken("b".repeat(64), WANT, 1);
    expect(spent).toMatchObject({ ok: false, reason: "the session has no uses left" });
    expect(spent).not.toHaveProperty("retry");
  });
});
