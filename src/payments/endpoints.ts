import * as z from "../zod";
import type { FacilitatorEndpoint } from "./routing";

/**
 * The facilitators a deployment uses, from its variables: `FACILITATORS` (JSON, with names,
 * network limits and headers) or the plain `FACILITATOR_URLS` list. A header value `env:NAME`
 * is read from the secret `NAME` (`wrangler secret put NAME`), so API keys never sit in
 * `wrangler.toml`. Order is preference: the first facilitator that supports a payment's network
 * is tried first, the next on failure.
 */

const network = z
  .string()
  .check(
    z.regex(/^[-a-z0-9]{3,8}:([-_a-zA-Z0-9]{1,32}|\*)$/, 'must be a CAIP-2 id or "<namespace>:*"'),
  );

const EndpointSchema = z.strictObject({
  url: z
    .string()
    .check(z.refine((u) => /^https?:\/\//.test(u) && isHttpUrl(u), "must be an http(s) URL")),
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  networks: z.optional(z.array(network).check(z.minLength(1), z.maxLength(64))),
  headers: z.optional(
    z.record(z.string().check(z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/)), z.string()),
  ),
});

const EndpointsSchema = z.array(EndpointSchema).check(z.minLength(1), z.maxLength(10));

/** The configured facilitators, or the problems found (each naming the variable and field). */
export function facilitatorEndpoints(
  vars: { FACILITATORS?: string | undefined; FACILITATOR_URLS?: string | undefined },
  secret: (name: string) => string | undefined,
): { ok: true; endpoints: FacilitatorEndpoint[] } | { ok: false; problems: string[] } {
  if (vars.FACILITATORS?.trim()) return fromJson(vars.FACILITATORS, secret);
  const urls = (vars.FACILITATOR_URLS ?? "")
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) return { ok: false, problems: ["FACILITATOR_URLS is not set"] };
  const problems = urls
    .filter((url) => !isHttpUrl(url))
    .map((url) => `FACILITATOR_URLS is not an http(s) URL: ${url}`);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, endpoints: urls.map((url) => endpoint(url, undefined, "any", {})) };
}

function fromJson(
  text: string,
  secret: (name: string) => string | undefined,
): { ok: true; endpoints: FacilitatorEndpoint[] } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problems: ["FACILITATORS is not JSON"] };
  }
  const parsed = EndpointsSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) =>
        `FACILITATORS${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${issue.message}`,
    );
    return { ok: false, problems };
  }
  const problems: string[] = [];
  const endpoints = parsed.data.map((entry, i) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(entry.headers ?? {})) {
      if (!value.startsWith("env:")) {
        headers[name] = value;
        continue;
      }
      const secretName = value.slice("env:".length);
      const resolved = secret(secretName);
      if (resolved) headers[name] = resolved;
      else problems.push(`FACILITATORS[${i}].headers.${name}: the secret ${secretName} is not set`);
    }
    return endpoint(entry.url, entry.name, entry.networks ?? "supported", headers);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, endpoints };
}

function endpoint(
  url: string,
  name: string | undefined,
  networks: FacilitatorEndpoint["networks"],
  headers: Record<string, string>,
): FacilitatorEndpoint {
  const base = url.replace(/\/+$/, "");
  return { url: base, name: name ?? new URL(base).host, networks, headers };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
