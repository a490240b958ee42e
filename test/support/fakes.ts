import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLoopback } from "../../dev/http.ts";
import { FAKE_FEE_PAYER, FAKE_UPTO_FACILITATOR } from "./fake-values.ts";

/**
 * Fake facilitator and origin servers for the integration tests (Node side, loopback only).
 * The facilitator's behaviour is chosen by the first path segment of its URL
 * (`http://127.0.0.1:N/<mode>/verify`), so tests running in parallel never share state. Modes:
 * `ok`, `invalid` (verify refuses), `settle-fail`, `settle-500`, `error500`, `garbage` (not
 * JSON), `slow` (answers after 5 s), `settle-lost-once` (the first settle of a nonce answers after
 * 3 s, later ones say its nonce is spent) and `settle-500-once` (the first settle of a nonce fails
 * with a 500, later ones succeed).
 */

/** A running fake server. */
export interface Fake {
  url: string;
  stop(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Fake> {
  const server = createServer((req, res) => {
    handlerSafe(handler, req, res);
  });
  const { url, stop } = await listenLoopback(server);
  return { url, stop };
}

function handlerSafe(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  try {
    handler(req, res);
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

const FAKE_SUPPORTED = {
  kinds: [
    { x402Version: 2, scheme: "exact", network: "eip155:84532" },
    { x402Version: 2, scheme: "exact", network: "eip155:8453" },
    {
      x402Version: 2,
      scheme: "upto",
      network: "eip155:84532",
      extra: { facilitatorAddress: FAKE_UPTO_FACILITATOR },
    },
    {
      x402Version: 2,
      scheme: "exact",
      network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
      extra: { feePayer: FAKE_FEE_PAYER },
    },
    { x402Version: 1, scheme: "exact", network: "base-sepolia" },
  ],
  extensions: [],
  signers: {},
};

/**
 * Who pays and a nonce-like key, from any scheme's payload: an EIP-3009 authorization, a
 * Permit2 permit (its nonce as 0x hex), or a Solana transaction (its last 32 bytes as hex).
 */
function payerAndNonce(payload: Record<string, unknown>): {
  from: string | undefined;
  nonce: string;
} {
  const authorization = payload["authorization"] as { from: string; nonce: string } | undefined;
  if (authorization) return authorization;
  const permit = payload["permit2Authorization"] as { from: string; nonce: string } | undefined;
  if (permit) return { from: permit.from, nonce: `0x${BigInt(permit.nonce).toString(16)}` };
  const tx = Buffer.from(String(payload["transaction"] ?? ""), "base64");
  // The payer of a Solana transfer is left for the paywall to read from the transaction.
  return { from: undefined, nonce: `0x${tx.subarray(-32).toString("hex")}` };
}

/**
 * Starts the fake facilitator; `GET /__calls?nonce=N` lists the calls made with a nonce,
 * `GET /__calls?mode=M` those made under a mode (a test's own mode name acts as `ok`).
 */
export async function startFakeFacilitator(): Promise<Fake> {
  const calls: Array<{ mode: string; op: string; nonce: string; body: unknown }> = [];
  return listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname === "/__calls") {
      const nonce = url.searchParams.get("nonce");
      const mode = url.searchParams.get("mode");
      return json(
        res,
        200,
        calls.filter((c) => (mode === null ? c.nonce === nonce : c.mode === mode)),
      );
    }
    const [, mode = "", op = ""] = url.pathname.split("/");
    if (op === "supported") return json(res, 200, FAKE_SUPPORTED);
    void readBody(req).then(async (text) => {
      const body = JSON.parse(text) as {
        paymentPayload: { payload: Record<string, unknown> };
        paymentRequirements: { network: string; scheme: string; amount: string };
      };
      const auth = payerAndNonce(body.paymentPayload.payload);
      const settledBefore = calls.some((c) => c.op === "settle" && c.nonce === auth.nonce);
      calls.push({ mode, op, nonce: auth.nonce, body });
      const network = body.paymentRequirements.network;
      if (mode === "error500" || (mode === "settle-500" && op === "settle")) {
        return json(res, 500, { error: "boom" });
      }
      if (op === "settle" && settledBefore && mode === "settle-lost-once") {
        // The first settlement landed on chain; the authorization's nonce is spent.
        return json(res, 200, {
          success: false,
          errorReason: "invalid_exact_evm_nonce_already_used",
          transaction: "",
          network,
        });
      }
      if (op === "settle" && settledBefore && mode === "settle-lost-then-expired") {
        // The first settlement's answer was lost; the retry is refused for another reason.
        return json(res, 200, {
          success: false,
          errorReason: "invalid_exact_evm_payload_authorization_valid_before",
          transaction: "",
          network,
        });
      }
      if (
        op === "settle" &&
        !settledBefore &&
        (mode === "settle-lost-once" || mode === "settle-lost-then-expired")
      ) {
        await new Promise((r) => setTimeout(r, 3_000));
      }
      if (op === "settle" && !settledBefore && mode === "settle-500-once") {
        return json(res, 500, { error: "boom" });
      }
      if (mode === "garbage") return res.writeHead(200).end("<html>not json</html>");
      if (mode === "slow") await new Promise((r) => setTimeout(r, 5_000));
      if (op === "verify") {
        if (mode === "invalid") {
          return json(res, 200, { isValid: false, invalidReason: "invalid_exact_evm_signature" });
        }
        return json(res, 200, { isValid: true, payer: auth.from });
      }
      if (mode === "settle-fail") {
        return json(res, 200, {
          success: false,
          errorReason: "invalid_exact_evm_insufficient_balance",
          transaction: "",
          network,
        });
      }
      return json(res, 200, {
        success: true,
        payer: auth.from,
        transaction: `0x${auth.nonce.slice(2, 66).padEnd(64, "0")}`,
        network,
        ...(body.paymentRequirements.scheme === "upto" && {
          amount: body.paymentRequirements.amount,
        }),
      });
    });
  });
}

/**
 * Starts the fake origin. It echoes every request as JSON and records it; `GET /__seen?path=P`
 * counts requests seen for P (`?contains=S`: whose raw path holds S; neither: every request).
 * `/status/<code>/…` answers that status, `/slow/<ms>/…` answers after ms, `/redirect/…` a 302,
 * `/stream/<id>` sends "first|" and holds the rest until `GET /__release?id=<id>`.
 * `/redirect-once/<id>/…` answers a 302 the first time and the echo afterwards;
 * `/json-usage/<n>/…` a JSON answer reporting `usage.total_tokens` n (`none`: no usage),
 * `/json-big/…` one of 2 MiB;
 * `/sse-break/…` and `/json-break/…` send part of a stream or JSON body, then break it.
 */
export async function startFakeOrigin(): Promise<Fake> {
  const seen: Array<{ path: string }> = [];
  const held = new Map<string, () => void>();
  const redirected = new Set<string>();
  return listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname === "/__seen") {
      const path = url.searchParams.get("path");
      const part = url.searchParams.get("contains");
      const count =
        part !== null
          ? seen.filter((s) => s.path.includes(part)).length
          : path === null
            ? seen.length
            : seen.filter((s) => s.path === path).length;
      return json(res, 200, { count });
    }
    if (url.pathname === "/__release") {
      held.get(url.searchParams.get("id") ?? "")?.();
      return json(res, 200, { released: true });
    }
    const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
    seen.push({ path: rawPath });
    const parts = url.pathname.split("/");
    if (parts[1] === "status") {
      return json(res, Number(parts[2]), { error: `origin answered ${parts[2]}` });
    }
    if (parts[1] === "slow") {
      setTimeout(() => json(res, 200, { slow: true }), Number(parts[2]));
      return;
    }
    if (parts[1] === "payee") {
      // An origin that names its payee (`/payee/<address>/…`), asked for a quote or not.
      const headers = { "Content-Type": "application/json", "x402-pay-to": parts[2] ?? "" };
      return res.writeHead(200, headers).end(JSON.stringify({ payee: parts[2] }));
    }
    if (parts[1] === "usage") {
      // A metered API: reports the units it used in a header (`/usage/<n>/…`; `none`: no report).
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (parts[2] !== "none") headers["x-usage-units"] = parts[2] ?? "";
      return res.writeHead(200, headers).end(JSON.stringify({ used: parts[2] }));
    }
    if (parts[1] === "sse-hold") {
      // A streamed metered API that sends one event and holds the rest (a client may leave).
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write('data: {"text":"first part"}\n\n');
      return;
    }
    if (parts[1] === "sse-usage") {
      // A streamed metered API: SSE events, the last one carrying the usage (`none`: no usage).
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write('data: {"text":"hello"}\n\n');
      const usage = parts[2] === "none" ? {} : { usage: { total_tokens: Number(parts[2]) } };
      res.end(`data: ${JSON.stringify({ text: " world", ...usage })}\n\ndata: [DONE]\n\n`);
      return;
    }
    if (parts[1] === "redirect-once" && !redirected.has(parts[2] ?? "")) {
      // An origin that redirects once (say, to add a trailing slash), then serves the page.
      redirected.add(parts[2] ?? "");
      return res.writeHead(302, { Location: `${url.pathname}/` }).end();
    }
    if (parts[1] === "json-usage") {
      // A metered API asked not to stream (`stream: false`): one JSON answer, usage inside.
      const usage = parts[2] === "none" ? {} : { usage: { total_tokens: Number(parts[2]) } };
      return json(res, 200, { text: "hello world", ...usage });
    }
    if (parts[1] === "json-big") {
      // A JSON answer of 2 MiB whose usage comes last (too long to be read for it).
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(`{"text":"${"x".repeat(2 << 20)}",`);
      return res.end('"usage":{"total_tokens":1}}');
    }
    if (parts[1] === "sse-break") {
      // A streamed answer whose origin breaks before reporting any usage.
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write('data: {"text":"first part"}\n\n');
      setTimeout(() => res.destroy(), 50);
      return;
    }
    if (parts[1] === "json-break") {
      // A JSON answer whose origin breaks half way through its body.
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": "1000" });
      res.write('{"text":"half of it');
      setTimeout(() => res.destroy(), 50);
      return;
    }
    if (parts[1] === "redirect") {
      return res.writeHead(302, { Location: "/elsewhere" }).end();
    }
    if (parts[1] === "stream") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write("first|");
      held.set(parts[2] ?? "", () => res.end("last"));
      return;
    }
    void readBody(req).then((body) => {
      json(res, 200, {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body,
      });
    });
  });
}
