import { describe, expect, it } from "vitest";
import { isShown, redactText, redactUrls, secretValues } from "../../../src/operator/redact.ts";
import type { Env } from "../../../src/config.ts";

/** What of the configuration may be shown: decided by where a value came from, not its name. */

const env = (vars: Record<string, string>) => vars as unknown as Env;

describe("redaction by source", () => {
  it("should hide a variable named by an env: reference, whatever it is called", () => {
    const e = env({
      FACILITATORS: JSON.stringify([{ url: "https://f.example", headers: { A: "env:PAY_TO" } }]),
      PAY_TO: "a-key-in-a-harmless-name",
    });
    expect(isShown(e, "PAY_TO")).toBe(false);
    expect(secretValues(e)).toContain("a-key-in-a-harmless-name");
  });

  it("should hide every variable it does not know, an RPC URL list included", () => {
    const e = env({
      CHAIN_RPC_URLS: "https://a.example/v2/key-aaaaaa, https://b.example/key-bbbbbb",
    });
    expect(isShown(e, "CHAIN_RPC_URLS")).toBe(false);
    const text = "eip155:1 at https://b.example/key-bbbbbb failed";
    expect(redactText(text, e)).toBe("eip155:1 at (redacted) failed");
  });

  it("should hide literal facilitator header values", () => {
    const e = env({
      FACILITATORS: JSON.stringify([
        { url: "https://f.example", headers: { K: "literal-123456" } },
      ]),
    });
    expect(redactText("sent literal-123456 to f", e)).toBe("sent (redacted) to f");
  });

  it("should cut userinfo and queries out of URLs in any scheme", () => {
    expect(redactUrls("ftp://u:p@h/x?k=1 and https://h/y?token=2,https://h/z")).toBe(
      "ftp://(redacted)@h/x?(redacted) and https://h/y?(redacted),https://h/z",
    );
  });

  it("should not cut short values out of text", () => {
    const e = env({ SOME_FLAG: "true" });
    expect(redactText("ORIGIN_URL is true", e)).toBe("ORIGIN_URL is true");
  });
});
