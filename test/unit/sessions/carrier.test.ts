import { describe, expect, it } from "vitest";
import {
  cookieName,
  readToken,
  sessionCookie,
  stripSessionCredentials,
} from "../../../src/sessions/carrier.ts";

/** How a session token travels: the header, the scope's cookie, and stripping both. */

describe("session cookies", () => {
  it("should give each scope its own HttpOnly Secure cookie", () => {
    expect(cookieName("group:a")).not.toBe(cookieName("group:b"));
    expect(sessionCookie("group:a", "T", 59.9)).toBe(
      `${cookieName("group:a")}=T; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=59`,
    );
  });

  it("should read the header first, then the scope's cookie", () => {
    const name = cookieName("group:a");
    expect(readToken(new Headers({ Cookie: `a=1; ${name}=C` }), "group:a")).toBe("C");
    expect(readToken(new Headers({ Cookie: `${name}=C` }), "group:b")).toBeUndefined();
    const both = new Headers({ Cookie: `${name}=C`, "PAYMENT-SESSION": "H" });
    expect(readToken(both, "group:a")).toBe("H");
  });

  it("should strip every session credential and keep the other cookies", () => {
    const headers = new Headers({
      Cookie: `theme=dark; ${cookieName("x")}=T; lang=pt; ${cookieName("y")}=U`,
      "PAYMENT-SESSION": "H",
    });
    stripSessionCredentials(headers);
    expect(headers.get("Cookie")).toBe("theme=dark; lang=pt");
    expect(headers.has("PAYMENT-SESSION")).toBe(false);
    const only = new Headers({ Cookie: `${cookieName("x")}=T` });
    stripSessionCredentials(only);
    expect(only.has("Cookie")).toBe(false);
  });
});
