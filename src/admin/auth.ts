/**
 * The admin API's authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant
 * time (both sides are hashed first, so even the length does not leak). When `ADMIN_TOKEN` is
 * not set the API is off.
 */

/** Why a request is not allowed, or undefined when it is. */
export async function adminRefusal(
  authorization: string | null,
  secret: string | undefined,
): Promise<{ status: 401 | 403; error: string; message: string } | undefined> {
  if (!secret) {
    return {
      status: 403,
      error: "admin_disabled",
      message: "the admin API is off: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN)",
    };
  }
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
  if (!match?.[1] || !(await sameSecret(match[1].trim(), secret))) {
    return {
      status: 401,
      error: "unauthorized",
      message: "send Authorization: Bearer <ADMIN_TOKEN>",
    };
  }
  return undefined;
}

async function sameSecret(given: string, secret: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(secret)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
