import { describe, expect, it } from "vitest";
import { forwardToOrigin } from "../../../src/proxy/index.ts";
import { SESSION_HEADER, sessionCookie } from "../../../src/sessions/carrier.ts";

/** What the origin is sent: the proxy's own lists of credentials that never reach it. */

async function forwarded(headers: Record<string, string>): Promise<Headers> {
  let seen: Headers | undefined;
  const fetch = async (_url: RequestInfo | URL, init?: RequestInit) => {
    seen = new Headers(init?.headers);
    return new Response("ok");
  };
  const request = new Request("https://paywall.example/a", { headers });
  const result = await forwardToOrigin(
    { request, forwardPath: "/a" },
    { base: new URL("http://origin.example/"), payerHeader: "x-payer", fetch },
  );
  expect(result.type).toBe("response");
  return seen!;
}

describe("credentials kept from the origin", () => {
  it("should strip the session header and every session cookie the sessions module issues", async () => {
    const [a, b] = ["group:a", "group:b"].map((scope) => sessionCookie(scope, "T").split(";")[0]);
    const headers = await forwarded({
      [SESSION_HEADER]: "x402s1.token",
      Cookie: `theme=dark; ${a}; lang=pt; ${b}`,
    });
    expect(headers.has(SESSION_HEADER)).toBe(false);
    expect(headers.get("Cookie")).toBe("theme=dark; lang=pt");
  });

  it("should drop the Cookie header when it held only session cookies", async () => {
    const only = sessionCookie("group:a", "T").split(";")[0]!;
    const headers = await forwarded({ Cookie: only });
    expect(headers.has("Cookie")).toBe(false);
  });

  it("should leave a request without session credentials as it was", async () => {
    const headers = await forwarded({ Cookie: "theme=dark", Accept: "text/html" });
    expect(headers.get("Cookie")).toBe("theme=dark");
    expect(headers.get("Accept")).toBe("text/html");
  });
});
