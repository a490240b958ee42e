import { beforeEach, describe, expect, it } from "vitest";
import {
  SESSION_HOST,
  call,
  decodeHeader,
  facilitator,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * `example.com.` (the fully qualified spelling) is the same host as `example.com`: the matcher
 * prices them alike, so a pass bought on one spelling opens the other and the payer never pays
 * twice for the same access.
 */

const DOTTED = `https://${SESSION_HOST}.`;
const PLAIN = `https://${SESSION_HOST}`;

beforeEach(async () => {
  await putTable();
});

async function buy(url: string): Promise<string> {
  const challenge = await call(new Request(url));
  expect(challenge.status).toBe(402);
  const { header } = paymentFor(challenge);
  const paid = await call(new Request(url, { headers: { "PAYMENT-SIGNATURE": header } }), {
    FACILITATOR_URLS: facilitator("ok"),
  });
  expect(paid.status).toBe(200);
  return paid.headers.get("PAYMENT-SESSION")!;
}

describe("a host with and without its trailing dot", () => {
  it.each<[string, string, string]>([
    ["bought on the dotted host, used on the plain one", DOTTED, PLAIN],
    ["bought on the plain host, used on the dotted one", PLAIN, DOTTED],
    ["bought on the dotted host, used on it in upper case", DOTTED, `https://SESSIONS.TEST..`],
  ])("should open a route pass %s", async (_name, buyOn, useOn) => {
    const id = unique();
    const token = await buy(`${buyOn}/pass/${id}/a`);
    const used = await call(
      new Request(`${useOn}/pass/${id}/b`, { headers: { "PAYMENT-SESSION": token } }),
    );
    expect(used.status).toBe(200);
    expect(used.headers.get("PAYMENT-SESSION-REMAINING")).toBe("1");
    expect(await originSaw(`/pass/${id}/b`)).toBe(1);
  });

  it("should open a resource pass bought on the dotted host on the plain one", async () => {
    const id = unique();
    const token = await buy(`${DOTTED}/one/${id}`);
    const used = await call(
      new Request(`${PLAIN}/one/${id}`, { headers: { "PAYMENT-SESSION": token } }),
    );
    expect(used.status).toBe(200);
    expect(await originSaw(`/one/${id}`)).toBe(2);
  });

  it("should offer the same resource URL and sign-in domain on both spellings", async () => {
    const id = unique();
    const [dotted, plain] = await Promise.all(
      [DOTTED, PLAIN].map(async (base) => {
        const challenge = await call(new Request(`${base}/pass/${id}`));
        return decodeHeader<{
          resource: { url: string };
          extensions: { "sign-in-with-x": { info: { domain: string; uri: string } } };
        }>(challenge.headers.get("PAYMENT-REQUIRED"));
      }),
    );
    expect(dotted!.resource.url).toBe(`${PLAIN}/pass/${id}`);
    expect(dotted!.resource).toEqual(plain!.resource);
    expect(dotted!.extensions["sign-in-with-x"].info.domain).toBe(SESSION_HOST);
  });
});
