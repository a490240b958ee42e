import { describe, expect, it } from "vitest";
import { normalisePath } from "../../../src/pricing/index.ts";
import { normaliseAnyPath } from "../../../src/pricing/path.ts";

function accepted(raw: string): { forwardPath: string; matchPath: string } {
  const result = normalisePath(raw);
  if (!result.ok) throw new Error(`${JSON.stringify(raw)} was refused: ${result.reason}`);
  return { forwardPath: result.forwardPath, matchPath: result.matchPath };
}

function refusal(raw: string): string {
  const result = normalisePath(raw);
  if (result.ok) throw new Error(`${JSON.stringify(raw)} was accepted as ${result.matchPath}`);
  return result.reason;
}

describe("normalisePath", () => {
  describe("segments", () => {
    it.each([
      ["/a/./b/../c", "/a/c"],
      ["/a/b/../c", "/a/c"],
      ["/./a", "/a"],
      ["//a///b", "/a/b"],
      ["", "/"],
      ["/", "/"],
    ])("should resolve dot and empty segments in %j to %j", (raw, path) => {
      expect(accepted(raw)).toEqual({ forwardPath: path, matchPath: path });
    });

    it.each([
      ["/..", "/"],
      ["/../../a", "/a"],
      ["/a/../../b", "/b"],
      ["/api/..%2F..%2F..%2Fadmin", "/admin"],
    ])("should never let %j climb above the root", (raw, path) => {
      expect(accepted(raw)).toEqual({ forwardPath: path, matchPath: path });
    });

    it("should percent-decode each segment once", () => {
      expect(accepted("/%61%70%69/%62")).toEqual({ forwardPath: "/api/b", matchPath: "/api/b" });
    });

    it("should treat percent-encoded dots as dot segments", () => {
      expect(accepted("/free/%2e%2e/paid").matchPath).toBe("/paid");
      expect(accepted("/free/%2E%2E/paid").matchPath).toBe("/paid");
      expect(accepted("/a/%2e/b").matchPath).toBe("/a/b");
    });

    it.each([
      ["/a%2Fb", "/a/b"],
      ["/a%2fb", "/a/b"],
      ["/a%5Cb", "/a/b"],
      ["/a%5cb", "/a/b"],
      ["/a\\b", "/a/b"],
      ["/free%2F..%2Fpaid", "/paid"],
      ["/free\\..\\paid", "/paid"],
    ])("should treat the separator in %j like a slash", (raw, path) => {
      expect(accepted(raw)).toEqual({ forwardPath: path, matchPath: path });
    });
  });

  describe("refusals", () => {
    it.each(["/%252e%252e/paid", "/a%252Fb", "/a%2525", "/%255C"])(
      "should refuse the double-encoded path %j",
      (raw) => {
        expect(refusal(raw)).toBe("the path is percent-encoded more than once");
      },
    );

    it.each(["/a%00b", "/a%0Ab", "/a%0d%0aSet-Cookie:x", "/a%7F", "/a%1Fb", "/a\u0001b"])(
      "should refuse the control character in %j",
      (raw) => {
        expect(refusal(raw)).toBe("the path contains a control character");
      },
    );

    it.each(["/%", "/a%2", "/%zz", "/%e9", "/%C3", "/%ED%A0%80"])(
      "should refuse the malformed escape in %j",
      (raw) => {
        expect(refusal(raw)).toBe("the path has a malformed percent-encoding");
      },
    );

    it.each([
      ["full-width dot dot", "/\uFF0E\uFF0E/paid"],
      ["full-width dot dot, percent-encoded", "/free/%EF%BC%8E%EF%BC%8E/paid"],
      ["full-width dot", "/a/\uFF0E/b"],
      ["two dot leader", "/free/\u2025/paid"],
      ["one dot leader", "/free/\u2024/paid"],
      ["full-width slash", "/free\uFF0Fpaid"],
      ["full-width backslash", "/free\uFF3Cpaid"],
    ])("should refuse a %s", (_name, raw) => {
      expect(refusal(raw)).toBe("the path has a disguised dot segment or slash");
    });

    it.each([
      "/public/..;/admin",
      "/public/..;x=1/admin",
      "/a/.;x/b",
      "/public/\u2025;x/admin",
      "/public/%2e%2e;/admin",
    ])("should refuse the dot segment with parameters in %j (regression: ..; bypass)", (raw) => {
      expect(refusal(raw)).toBe("the path has a disguised dot segment or slash");
    });
  });

  describe("directory paths", () => {
    it.each([
      ["/a/b/.", "/a/b/"],
      ["/a/b/c/..", "/a/b/"],
      ["/a/b/%2e", "/a/b/"],
      ["/a/b/c/.%2E", "/a/b/"],
    ])("should keep %j a directory as %j (regression: trailing slash lost)", (raw, forward) => {
      expect(accepted(raw).forwardPath).toBe(forward);
    });
  });

  describe("match path and forward path", () => {
    it("should strip ;parameters from the match path but forward them", () => {
      expect(accepted("/shop;jsessionid=42/item;v=2")).toEqual({
        forwardPath: "/shop;jsessionid=42/item;v=2",
        matchPath: "/shop/item",
      });
    });

    it("should drop a segment that is only ;parameters from the match path", () => {
      expect(accepted("/api/;x/paid")).toEqual({
        forwardPath: "/api/;x/paid",
        matchPath: "/api/paid",
      });
    });

    it.each([
      ["/docs/", "/docs/", "/docs"],
      ["/docs//", "/docs/", "/docs"],
      ["/docs%2F", "/docs/", "/docs"],
      ["/docs\\", "/docs/", "/docs"],
      ["/a/b/../", "/a/", "/a"],
      ["/a/../", "/", "/"],
    ])("should keep the trailing slash of %j in the forward path only", (raw, forward, match) => {
      expect(accepted(raw)).toEqual({ forwardPath: forward, matchPath: match });
    });

    it("should re-encode spaces and non-ASCII characters canonically", () => {
      expect(accepted("/hello world/café")).toEqual({
        forwardPath: "/hello%20world/caf%C3%A9",
        matchPath: "/hello world/café",
      });
    });

    it("should forward the same bytes for encoded and raw spellings of a path", () => {
      const spellings = ["/caf%C3%A9/a%3Ab", "/café/a:b", "/caf%c3%a9/a%3ab"];
      const forwards = new Set(spellings.map((raw) => accepted(raw).forwardPath));
      expect([...forwards]).toEqual(["/caf%C3%A9/a:b"]);
    });

    it("should keep ':' '@' and the sub-delimiters unescaped", () => {
      expect(accepted("/a:b@c!$&'()*+,;=").forwardPath).toBe("/a:b@c!$&'()*+,;=");
      expect(accepted("/%3A%40%21%24%26%27%28%29%2A%2B%2C%3B%3D").forwardPath).toBe(
        "/:@!$&'()*+,;=",
      );
    });

    it("should escape decoded characters that are not allowed in a segment", () => {
      expect(accepted("/a%3Fb%23c/100%25/%22q%22")).toEqual({
        forwardPath: "/a%3Fb%23c/100%25/%22q%22",
        matchPath: '/a?b#c/100%/"q"',
      });
    });

    it("should NFKC-fold full-width letters in the match path but forward them as sent", () => {
      expect(accepted("/\uFF41\uFF50\uFF49/\uFF38")).toEqual({
        forwardPath: "/%EF%BD%81%EF%BD%90%EF%BD%89/%EF%BC%B8",
        matchPath: "/api/X",
      });
    });

    it("should leave letter case to the matcher", () => {
      expect(accepted("/API/Docs").matchPath).toBe("/API/Docs");
    });
  });

  describe("plain paths (fast path)", () => {
    it.each([
      "/",
      "",
      "/a",
      "/a/",
      "/api/free/hello",
      "/articles/hello-x402/",
      "/a.b/c~d/_e-f",
      "/.well-known/x402",
      "/a/../b",
      "/a/./b",
      "/a//b",
      "/...",
      "/a/...",
      "/a/..",
      "/a/.",
      "/..a/a..",
      "/a/b//",
      "/A/B/",
      "/a;b/c",
      "/a%2Fb",
      "/a\\b",
      "/\uFF41",
    ])("should normalise %j exactly as the general rules do", (raw) => {
      expect(normalisePath(raw)).toEqual(normaliseAnyPath(raw));
    });

    it("should agree with the general rules on random paths over a path-like alphabet", () => {
      const alphabet = ["/", "/", ".", ".", "a", "Z", "0", "-", "_", "~", ";", "%2e", "%2F", "é"];
      let seed = 7;
      const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
      for (let i = 0; i < 5000; i++) {
        let raw = "/";
        const length = next() % 12;
        for (let j = 0; j < length; j++) raw += alphabet[next() % alphabet.length];
        expect(normalisePath(raw), raw).toEqual(normaliseAnyPath(raw));
      }
    });
  });
});
