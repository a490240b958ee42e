/**
 * The admin API as the price-table CLI calls it: JSON in and out, bearer token, and every refusal
 * printed with its reason (and each problem of an invalid table), then exit status 1.
 */

/** A small client of `/__x402/admin`. */
export interface AdminClient {
  /** Calls `path` under the admin prefix; on any non-2xx answer prints why and exits 1. */
  call(method: string, path: string, body?: string): Promise<unknown>;
}

/** A client for the admin API at `baseUrl` with `token`. */
export function adminClient(baseUrl: string, token: string | undefined): AdminClient {
  return {
    async call(method, path, body) {
      if (!token) fail("set X402_ADMIN_TOKEN to the admin token (wrangler secret put ADMIN_TOKEN)");
      let response: Response;
      try {
        response = await fetch(`${baseUrl.replace(/\/$/, "")}/__x402/admin${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          ...(body !== undefined && { body }),
        });
      } catch (error) {
        fail(`cannot reach ${baseUrl}: ${(error as Error).message}`);
      }
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        fail(`${method} ${path}: ${response.status}, not JSON: ${text.slice(0, 200)}`);
      }
      if (!response.ok) {
        const { message, errors } = json as { message?: string; errors?: string[] };
        for (const error of errors ?? []) console.error(`  ${error}`);
        fail(`${method} ${path}: ${response.status} ${message ?? text.slice(0, 200)}`);
      }
      return json;
    },
  };
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
