/**
 * A real x402 facilitator for development and tests: the official `x402Facilitator` with the
 * official EVM `exact` scheme (V2 on eip155:84532, V1 on "base-sepolia" and the other V1 names)
 * and the official EVM `upto` scheme (V2, Permit2-based metered payments; needs Permit2 and the
 * upto proxy on the chain, see dev/permit2.ts), served over HTTP on 127.0.0.1 and settling on
 * the local anvil.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { x402Facilitator } from "@x402/core/facilitator";
import { parsePaymentPayload, parsePaymentRequirements } from "@x402/core/schemas";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { registerExactEvmScheme } from "@x402/evm/exact/facilitator";
import { UptoEvmScheme } from "@x402/evm/upto/facilitator";
import {
  createWalletClient,
  http,
  publicActions,
  type Hex,
  type VerifyTypedDataParameters,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { LOCAL_CHAIN_ID, localChain } from "./chain.ts";
import { listenLoopback } from "./http.ts";

/** The largest request body the facilitator reads (bytes); bigger bodies get 413. */
const MAX_BODY = 1 << 20;

type Payload = Parameters<x402Facilitator["verify"]>[0];
type Requirements = Parameters<x402Facilitator["verify"]>[1];

/** A running facilitator: its base URL (no trailing slash) and `stop()`. */
export interface RunningFacilitator {
  readonly url: string;
  stop(): Promise<void>;
}

/** A chain the facilitator settles on: its JSON-RPC URL and chain id. */
export interface FacilitatorChain {
  rpcUrl: string;
  chainId: number;
}

/**
 * Builds the official facilitator whose signer pays gas from `privateKey` on each chain (one
 * signer per chain, each registered for its own `eip155:<id>` network).
 */
function createFacilitator(chains: FacilitatorChain[], privateKey: Hex): x402Facilitator {
  const account = privateKeyToAccount(privateKey);
  const facilitator = new x402Facilitator();
  for (const { rpcUrl, chainId } of chains) {
    const client = createWalletClient({
      account,
      chain: localChain(rpcUrl, chainId),
      transport: http(rpcUrl, { retryCount: 0 }),
      pollingInterval: 50,
    }).extend(publicActions);
    const signer = toFacilitatorEvmSigner({
      ...client,
      address: account.address,
      // viem's parameter type is a union the scheme's looser record type does not narrow to.
      verifyTypedData: (args) => client.verifyTypedData(args as VerifyTypedDataParameters),
    });
    registerExactEvmScheme(facilitator, { signer, networks: `eip155:${chainId}` });
    // `/supported` lists it with `extra.facilitatorAddress`: the signer, the only caller the
    // upto proxy lets settle a permit whose witness names it.
    facilitator.register(`eip155:${chainId}`, new UptoEvmScheme(signer));
  }
  return facilitator;
}

/** A request that must be answered with `status` and a JSON `{ error }` body. */
class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Reads the whole body (at most MAX_BODY bytes) and parses it as a verify/settle request. */
async function readPaymentBody(req: IncomingMessage): Promise<[Payload, Requirements]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk instanceof Buffer ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY) throw new HttpError(413, "request body too large");
    chunks.push(buf);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "body must be a JSON object");
  }
  const { paymentPayload, paymentRequirements } = body as Record<string, unknown>;
  const payload = parsePaymentPayload(paymentPayload);
  if (!payload.success)
    throw new HttpError(400, `invalid paymentPayload: ${issues(payload.error)}`);
  const requirements = parsePaymentRequirements(paymentRequirements);
  if (!requirements.success) {
    throw new HttpError(400, `invalid paymentRequirements: ${issues(requirements.error)}`);
  }
  // Hand the facilitator the objects as sent (the schemas only validate; V1 shapes pass as-is).
  return [paymentPayload as Payload, paymentRequirements as Requirements];
}

/** One line per schema problem: `path: message`, joined with "; ". */
function issues(error: {
  issues: Array<{ path: Array<string | number>; message: string }>;
}): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** Writes `body` as JSON with `status`. */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_key, value: unknown) =>
    typeof value === "bigint" ? value.toString() : value,
  );
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(text);
}

/**
 * Starts the official facilitator (see `createFacilitator`) as an HTTP server on 127.0.0.1:`port`
 * (0 picks a free port) serving `GET /supported`, `GET /health`, `POST /verify` and
 * `POST /settle`; malformed requests get 400 `{error}`, thrown errors 500 `{error}`.
 */
export async function startFacilitator(opts: {
  port: number;
  rpcUrl: string;
  privateKey: Hex;
  /** More chains to settle on, besides `rpcUrl` (chain 84532). */
  moreChains?: FacilitatorChain[];
}): Promise<RunningFacilitator> {
  const chains = [{ rpcUrl: opts.rpcUrl, chainId: LOCAL_CHAIN_ID }, ...(opts.moreChains ?? [])];
  const facilitator = createFacilitator(chains, opts.privateKey);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://facilitator").pathname;
    const route = `${req.method ?? "GET"} ${path}`;
    if (route === "GET /health") return sendJson(res, 200, { ok: true });
    if (route === "GET /supported") return sendJson(res, 200, facilitator.getSupported());
    if (route === "POST /verify" || route === "POST /settle") {
      const [payload, requirements] = await readPaymentBody(req);
      if (route === "POST /verify") {
        return sendJson(res, 200, await facilitator.verify(payload, requirements));
      }
      return sendJson(res, 200, await facilitator.settle(payload, requirements));
    }
    const known = ["/health", "/supported", "/verify", "/settle"].includes(path);
    throw new HttpError(
      known ? 405 : 404,
      known ? `method ${req.method} not allowed` : "not found",
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (res.headersSent) res.destroy();
      else sendJson(res, status, { error: message });
    });
  });
  const { url, stop } = await listenLoopback(server, opts.port);
  return { url, stop };
}
