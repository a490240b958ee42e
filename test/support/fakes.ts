import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLoopback } from "../../dev/http.ts";
import { FAKE_FEE_PAYER, FAKE_UPTO_FACILITATOR } from "./fake-values.ts";

/**
 * Fake facilitator and origin servers for the integration tests (Node side, loopback only).
 * The facilitator's behaviour is chosen by the first path segment of its URL
 * (`http://127.0.0.1:N/<mode>/verify`), so tests running in parallel never share state. Modes:
 * `ok`, `invalid` (verify refuses), `expired` (verify says the authorization expired), `settle-fail`, `settle-500`, `error500`, `garbage` (not
 * JSON), `slow` (answers after 5 s), `settle-lost-once` (the first settle of a nonce lands on
 * the chain but answers after 3 s), `settle-lost-unlanded` (the first settle answers after 3 s
 * and never lands), `settle-lost-then-expired` (as `settle-lost-unlanded`, later ones are refused
 * as expired), `settle-500-once` (the first settle of a nonce fails with a 500, later ones
 * succeed) and `reset` (the connection is reset once the request was read).
 *
 * It also keeps a fake chain of Base Sepolia (chain id 84532), served as JSON-RPC at `/rpc` (the
 * calls the paywall's chain proof makes: eth_chainId, eth_getLogs, eth_getTransactionReceipt,
 * eth_call authorizationState, eth_getBlockByNumber), one block a second (block number = its
 * time): a settle that succeeds "lands" in the current block (AuthorizationUsed, then Transfer
 * from → to of the value, in transaction 0x<nonce>); a settle of a nonce already on chain is refused
 * as `invalid_exact_evm_nonce_already_used`; `GET /__chain?nonce=N&state=cancelled|diverted`
 * spends a nonce as the payer could (cancelAuthorization, or another authorization to another
 * address).
 */

/** Topics of the token's events the fake chain emits (FiatToken V2). */
const TOPICS = {
  transfer: "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
  used: "0x98de503528ee59b575ef0c0a2576a82497bfc029a5685b209e9ec333479b10a5",
  canceled: "0x1cdd46ff242716cdaa72d159d339a485b3438398348d68f09d7c8c0a59353d81",
};
/** Where a diverted authorization's money went. */
export const FAKE_THIEF = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

interface OnChain {
  state: "paid" | "cancelled" | "diverted";
  /** The block (= second) it landed in. */
  block: number;
  from: string;
  to: string;
  value: string;
  asset: string;
}

const topicWord = (address: string) => `0x${address.toLowerCase().slice(2).padStart(64, "0")}`;

/** Answers one JSON-RPC call from the fake chain. */
function rpcAnswer(chain: Map<string, OnChain>, method: string, params: unknown[]): unknown {
  const logsOf = (nonce: string, entry: OnChain) => {
    const base = {
      address: entry.asset,
      transactionHash: nonce,
      blockNumber: `0x${entry.block.toString(16)}`,
      data: "0x",
    };
    if (entry.state === "cancelled") {
      return [
        { ...base, topics: [TOPICS.canceled, topicWord(entry.from), nonce], logIndex: "0x0" },
      ];
    }
    const to = entry.state === "diverted" ? FAKE_THIEF : entry.to;
    return [
      { ...base, topics: [TOPICS.used, topicWord(entry.from), nonce], logIndex: "0x0" },
      {
        ...base,
        topics: [TOPICS.transfer, topicWord(entry.from), topicWord(to)],
        data: `0x${BigInt(entry.value).toString(16).padStart(64, "0")}`,
        logIndex: "0x1",
      },
    ];
  };
  const head = Math.floor(Date.now() / 1000);
  const blockOf = (tag: unknown) => (tag === "latest" ? head : Number(tag));
  if (method === "eth_chainId") return "0x14a34";
  if (method === "eth_getLogs") {
    const filter = params[0] as { topics: unknown[]; fromBlock: string; toBlock: string };
    const nonce = String(filter.topics[2]).toLowerCase();
    const entry = chain.get(nonce);
    const inRange =
      entry && entry.block >= blockOf(filter.fromBlock) && entry.block <= blockOf(filter.toBlock);
    return inRange ? logsOf(nonce, entry).slice(0, 1) : [];
  }
  if (method === "eth_getTransactionReceipt") {
    const nonce = String(params[0]).toLowerCase();
    const entry = chain.get(nonce);
    return entry ? { status: "0x1", logs: logsOf(nonce, entry) } : null;
  }
  if (method === "eth_call") {
    const data = String((params[0] as { data: string }).data);
    const entry = chain.get(`0x${data.slice(-64)}`.toLowerCase());
    const used = entry !== undefined && entry.block <= blockOf(params[1]);
    return `0x${(used ? 1 : 0).toString(16).padStart(64, "0")}`;
  }
  if (method === "eth_getBlockByNumber") {
    const number = `0x${Math.min(blockOf(params[0]), head).toString(16)}`;
    return { number, timestamp: number };
  }
  return undefined;
}

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
  const chain = new Map<string, OnChain>();
  return listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname === "/__chain") {
      const nonce = (url.searchParams.get("nonce") ?? "").toLowerCase();
      const state = url.searchParams.get("state") as OnChain["state"];
      const settle = calls.find((c) => c.nonce.toLowerCase() === nonce);
      const authorization = (
        settle?.body as { paymentPayload: { payload: { authorization: OnChain } } }
      )?.paymentPayload.payload.authorization;
      const asset = (settle?.body as { paymentRequirements: { asset: string } })
        ?.paymentRequirements.asset;
      if (!authorization || !asset) return json(res, 404, { error: "no such payment seen" });
      chain.set(nonce, { ...authorization, state, asset, block: Math.floor(Date.now() / 1000) });
      return json(res, 200, { ok: true });
    }
    if (url.pathname === "/rpc") {
      void readBody(req).then((text) => {
        const call = JSON.parse(text) as { id: number; method: string; params: unknown[] };
        json(res, 200, {
          jsonrpc: "2.0",
          id: call.id,
          result: rpcAnswer(chain, call.method, call.params),
        });
      });
      return;
    }
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
    if (mode === "reset") {
      void readBody(req).then(() => req.socket.resetAndDestroy());
      return;
    }
    void readBody(req).then(async (text) => {
      const body = JSON.parse(text) as {
        paymentPayload: { payload: Record<string, unknown> };
        paymentRequirements: { network: string; scheme: string; amount: string };
      };
      const auth = payerAndNonce(body.paymentPayload.payload);
      const settledBefore = calls.some((c) => c.op === "settle" && c.nonce === auth.nonce);
      const onChain = chain.has(auth.nonce.toLowerCase());
      const land = () => {
        const authorization = body.paymentPayload.payload["authorization"] as OnChain | undefined;
        const asset = (body.paymentRequirements as { asset?: string }).asset;
        if (authorization && asset) {
          chain.set(auth.nonce.toLowerCase(), {
            ...authorization,
            state: "paid",
            asset,
            block: Math.floor(Date.now() / 1000),
          });
        }
      };
      calls.push({ mode, op, nonce: auth.nonce, body });
      const network = body.paymentRequirements.network;
      if (mode === "error500" || (mode === "settle-500" && op === "settle")) {
        return json(res, 500, { error: "boom" });
      }
      if (op === "settle" && onChain && mode !== "error500" && mode !== "settle-500") {
        // The nonce is spent on chain (by a settlement, or by the payer): the token refuses it.
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
      if (op === "settle" && !settledBefore && mode === "settle-lost-once") {
        // It lands on chain at once; its answer comes too late.
        land();
        await new Promise((r) => setTimeout(r, 3_000));
      }
      if (
        op === "settle" &&
        !settledBefore &&
        (mode === "settle-lost-unlanded" || mode === "settle-lost-then-expired")
      ) {
        // Its answer comes too late, and it never reached the chain.
        await new Promise((r) => setTimeout(r, 3_000));
        return json(res, 504, { error: "gateway timeout" });
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
        if (mode === "expired") {
          const invalidReason = "invalid_exact_evm_payload_authorization_valid_before";
          return json(res, 200, { isValid: false, invalidReason });
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
      if (op === "settle") land();
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
 * counts requests seen for P (`?contains=S`: whose raw path holds S; neither: every request;
 * with `&forwarded=1`: only those that were not quote requests, `x402-quote-request: 1`).
 * `/status/<code>/…` answers that status, `/slow/<ms>/…` answers after ms, `/redirect/…` a 302,
 * `/stream/<id>` sends "first|" and holds the rest until `GET /__release?id=<id>`. A CORS
 * preflight is allowed for any origin.
 * `/payee/<address>/…` names that payee (`x402-pay-to`) and `/quoted/<dollars>/…` quotes that
 * price (`x402-price`), asked for a quote or not; `?then=<value>` names another on the request
 * itself (an origin that changed its mind after quoting).
 * `/stream/<id>` sends "first|" and holds the rest until `GET /__release?id=<id>`.
 * `/redirect-once/<id>/…` answers a 302 the first time and the echo afterwards;
 * `/json-usage/<n>/…` a JSON answer reporting `usage.total_tokens` n (`none`: no usage),
 * `/json-big/…` one of 2 MiB;
 * `/sse-break/…` and `/json-break/…` send part of a stream or JSON body, then break it.
 */
export async function startFakeOrigin(): Promise<Fake> {
  const seen: Array<{ path: string; quote: boolean }> = [];
  const held = new Map<string, () => void>();
  const redirected = new Set<string>();
  return listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname === "/__seen") {
      const path = url.searchParams.get("path");
      const part = url.searchParams.get("contains");
      const forwarded = url.searchParams.get("forwarded") === "1";
      const counted = forwarded ? seen.filter((s) => !s.quote) : seen;
      const count =
        part !== null
          ? counted.filter((s) => s.path.includes(part)).length
          : path === null
            ? counted.length
            : counted.filter((s) => s.path === path).length;
      return json(res, 200, { count });
    }
    if (url.pathname === "/__release") {
      held.get(url.searchParams.get("id") ?? "")?.();
      return json(res, 200, { released: true });
    }
    const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
    const quote = req.headers["x402-quote-request"] === "1";
    seen.push({ path: rawPath, quote });
    const parts = url.pathname.split("/");
    // What the origin says on the request itself when it changed its mind after quoting.
    const then = quote ? null : url.searchParams.get("then");
    if (parts[1] === "status") {
      return json(res, Number(parts[2]), { error: `origin answered ${parts[2]}` });
    }
    if (parts[1] === "slow") {
      setTimeout(() => json(res, 200, { slow: true }), Number(parts[2]));
      return;
    }
    if (parts[1] === "payee") {
      // An origin that names its payee (`/payee/<address>/…`), asked for a quote or not.
      const payee = then ?? parts[2] ?? "";
      const headers = { "Content-Type": "application/json", "x402-pay-to": payee };
      return res.writeHead(200, headers).end(JSON.stringify({ payee }));
    }
    if (parts[1] === "quoted") {
      // An origin that quotes its own price (`/quoted/<dollars>/…`), asked for a quote or not.
      const price = `$${then ?? parts[2] ?? ""}`;
      const headers = { "Content-Type": "application/json", "x402-price": price };
      return res.writeHead(200, headers).end(JSON.stringify({ price, method: req.method }));
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
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      // A CORS preflight: allowed for any origin; says in headers what it received (and sends a
      // body a preflight's answer must not pass on).
      void readBody(req).then((body) => {
        res
          .writeHead(200, {
            "Access-Control-Allow-Origin": req.headers["origin"] ?? "*",
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE",
            "Access-Control-Allow-Headers": "content-type",
            "x-origin-saw-method": req.method ?? "",
            "x-origin-saw-body-bytes": String(body.length),
            "x-origin-saw-headers": Object.keys(req.headers).join(","),
          })
          .end("the origin's own OPTIONS body");
      });
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
      // `?origin-cache-control=V` and `?origin-cdn-cache-control=V`: the answer's cache fields.
      const cache = url.searchParams.get("origin-cache-control");
      const cdn = url.searchParams.get("origin-cdn-cache-control");
      if (cache !== null) res.setHeader("Cache-Control", cache);
      if (cdn !== null) res.setHeader("CDN-Cache-Control", cdn);
      json(res, 200, {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body,
      });
    });
  });
}
