import { getAddress, recoverMessageAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checksumAddress,
  recoverPersonalSigner,
  verifyPersonalSignature,
} from "../../../src/sessions/eth.ts";

/** Sign-in's account cryptography, held to viem's for the same inputs. */

describe("checksumAddress", () => {
  it("should spell addresses as viem's getAddress does (EIP-55)", () => {
    for (let i = 0; i < 50; i++) {
      const address = privateKeyToAccount(generatePrivateKey()).address.toLowerCase();
      expect(checksumAddress(address)).toBe(getAddress(address));
    }
    // EIP-55's own test vector.
    expect(checksumAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")).toBe(
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    );
  });

  it("should throw on anything that is not an address", () => {
    expect(() => checksumAddress("0x1234")).toThrow();
    expect(() => checksumAddress("0x" + "g".repeat(40))).toThrow();
  });
});

describe("recoverPersonalSigner", () => {
  it("should recover the signer of personal_sign messages as viem does", async () => {
    const messages = ["hello", "", "ünïcödé ✓ sign-in\nline two", "x".repeat(2000)];
    for (const message of messages) {
      const account = privateKeyToAccount(generatePrivateKey());
      const signature = await account.signMessage({ message });
      expect(recoverPersonalSigner(message, signature)).toBe(account.address);
      expect(await recoverMessageAddress({ message, signature })).toBe(account.address);
      expect(verifyPersonalSignature(account.address.toLowerCase(), message, signature)).toBe(true);
    }
  });

  it("should refuse another message, another address, and malformed signatures", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const signature = await account.signMessage({ message: "sign in" });
    expect(verifyPersonalSignature(account.address, "sign in!", signature)).toBe(false);
    expect(verifyPersonalSignature(other.address, "sign in", signature)).toBe(false);
    const v = signature.slice(-2);
    expect(recoverPersonalSigner("sign in", signature.slice(0, -2) + "05")).toBeUndefined();
    expect(recoverPersonalSigner("sign in", signature.slice(0, -2))).toBeUndefined();
    expect(recoverPersonalSigner("sign in", "0x" + "00".repeat(65))).toBeUndefined();
    expect(recoverPersonalSigner("sign in", "not a signature")).toBeUndefined();
    // v as 0/1 (some wallets) recovers the same signer as 27/28.
    const low = signature.slice(0, -2) + (v === "1b" ? "00" : "01");
    expect(recoverPersonalSigner("sign in", low)).toBe(account.address);
  });

  it("should agree with viem on arbitrary signature bytes, high s and r past the curve order included", async () => {
    const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const word = (n: bigint) => n.toString(16).padStart(64, "0");
    const scalar = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
      fc.bigInt({ min: N - 3n, max: N + 3n }),
      fc.constantFrom(0n, 1n, N / 2n, N / 2n + 1n),
    );
    await fc.assert(
      fc.asyncProperty(
        scalar,
        scalar,
        fc.constantFrom(0, 1, 27, 28),
        fc.string(),
        async (r, s, v, message) => {
          const signature = `0x${word(r)}${word(s)}${v.toString(16).padStart(2, "0")}` as const;
          const expected = await recoverMessageAddress({ message, signature }).catch(
            () => undefined,
          );
          expect(recoverPersonalSigner(message, signature)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
    // A real signature with s flipped to the high half (and v with it) still names the signer.
    const account = privateKeyToAccount(generatePrivateKey());
    const low = await account.signMessage({ message: "sign in" });
    const s = BigInt(`0x${low.slice(66, 130)}`);
    const v = low.slice(-2) === "1b" ? "1c" : "1b";
    const high = `${low.slice(0, 66)}${word(N - s)}${v}`;
    expect(recoverPersonalSigner("sign in", high)).toBe(account.address);
  });
});
