import { inject } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PAY_TO, call, decodeHeader, putTable, unique } from "./helpers";

/**
 * Attacks on a metered (`upto`, Permit2) payment whose first settlement's answer was lost: the
 * permit lets money move once, so the copy that resolves it must settle, and look on the chain
 * for, the amount the first settlement asked for. An origin that reports another usage to the
 * copy must not turn a transfer that happened into "the nonce was used without this transfer"
 * (a refusal: the payer charged, the content never delivered).
 *
 * The facilitator's settle, the origin and the chain are faked here (a Permit2 chain: nonce
 * bitmap, Transfer logs, the settling transaction's call data); verify goes to the shared fake.
 */

const BASE = "https://metered-pending.test";
const ORIGIN = "http://origin.metered-pending.test";
const RPC = "http://rpc.metered-pending.test/";
const USDC = "0x036cbd53842c5426634e7929541ec2318f3dcf7e";
const UPTO_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";
const TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const SSE = { unitPrice: "$0.0001", usage: { sse: "usage.total_tokens" } };
const HEADER = { unitPrice: "$0.0001", usage: { header: "x-usage" } };

const word = (value: bigint | string) =>
  `0x${(typeof value === "string" ? value.toLowerCase().slice(2) : value.toString(16)).padStart(64, "0")}`;
const hex = (n: number) => `0x${n.toString(16)}`;

beforeEach(async () => {
  await putTable({
    version: "metered-pending-attacks",
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules: [
      { path: "/sse/*", price: "$0.05", metered: SSE },
      { path: "/header/*", price: "$0.05", metered: HEADER },
    ],
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** One permit's life on the fake chain and at the fake facilitator. */
interface World {
  /** The usage the origin reports to each request, in turn. */
  usages: number[];
  /** Once this few usages are left to report, the origin answers with an event stream. */
  streamFrom?: number | undefined;
  /** The amounts settle was asked for, in order. */
  settles: string[];
  /** A settlement submitted but not mined yet (its answer lost). */
  mempool?: { amount: string } | undefined;
  /** The transfer the permit made, once mined. */
  mined?: { amount: string; block: number; hash: string } | undefined;
  payer: string;
  nonce: bigint;
}

/** Fakes the settle endpoint, the origin and the chain for `world`. */
function fake(world: World, mode: string): void {
  const real = globalThis.fetch;
  const settleUrl = `${inject("facilitatorBase")}/${mode}/settle`;
  const mine = () => {
    if (!world.mempool || world.mined) return;
    const block = Math.floor(Date.now() / 1000);
    const hash = word(BigInt(`0x${unique()}${unique()}`));
    world.mined = { amount: world.mempool.amount, block, hash };
  };
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === settleUrl) {
      const body = JSON.parse(String(init?.body)) as {
        paymentRequirements: { amount: string; network: string };
      };
      const amount = body.paymentRequirements.amount;
      world.settles.push(amount);
      if (world.settles.length === 1) {
        // Submitted, its answer lost: it is mined by the time anyone asks again.
        world.mempool = { amount };
        return Response.json({ error: "upstream timeout" }, { status: 500 });
      }
      mine();
      return Response.json({
        success: false,
        errorReason: "permit2_invalid_nonce",
        transaction: "",
        network: body.paymentRequirements.network,
      });
    }
    if (url.startsWith(ORIGIN)) {
      const usage = world.usages.shift() ?? 1;
      if (world.streamFrom !== undefined && world.usages.length < world.streamFrom) {
        const events =
          `data: {"text":"metered answer"}\n\n` +
          `data: {"usage":{"total_tokens":${usage}}}\n\n` +
          "data: [DONE]\n\n";
        return new Response(events, { headers: { "Content-Type": "text/event-stream" } });
      }
      return Response.json(
        { text: "metered answer", usage: { total_tokens: usage } },
        { headers: { "x-usage": String(usage) } },
      );
    }
    if (url === RPC) {
      const rpc = JSON.parse(String(init?.body)) as {
        id: number;
        method: string;
        params: unknown[];
      };
      const head = Math.floor(Date.now() / 1000);
      const blockOf = (tag: unknown) => (tag === "latest" ? head : Number(tag));
      const answer = (result: unknown) => Response.json({ jsonrpc: "2.0", id: rpc.id, result });
      switch (rpc.method) {
        case "eth_chainId":
          return answer("0x14a34");
        case "eth_getBlockByNumber": {
          const n = Math.min(blockOf(rpc.params[0]), head);
          return answer({ number: hex(n), timestamp: hex(n) });
        }
        case "eth_call": {
          const at = blockOf(rpc.params[1]);
          const used = world.mined !== undefined && world.mined.block <= at;
          return answer(used ? `0x${"f".repeat(64)}` : word(0n));
        }
        case "eth_getLogs": {
          const filter = rpc.params[0] as { fromBlock: string; toBlock: string };
          const { mined } = world;
          const inRange =
            mined &&
            mined.block >= blockOf(filter.fromBlock) &&
            mined.block <= blockOf(filter.toBlock);
          return answer(
            inRange
              ? [
                  {
                    address: USDC,
                    topics: [TRANSFER, word(world.payer), word(PAY_TO)],
                    data: word(BigInt(mined.amount)),
                    logIndex: "0x0",
                    transactionHash: mined.hash,
                    blockNumber: hex(mined.block),
                  },
                ]
              : [],
          );
        }
        case "eth_getTransactionByHash": {
          const { mined } = world;
          if (!mined || rpc.params[0] !== mined.hash) return answer(null);
          // Permit2's permitWitnessTransferFrom: the permit's owner and nonce among its words.
          const input = `0x12345678${word(world.payer).slice(2)}${word(world.nonce).slice(2)}`;
          return answer({ hash: mined.hash, input });
        }
        default:
          return answer(null);
      }
    }
    return real(input, init);
  });
}

/** A signed-looking upto payment for `path` (the fake facilitator checks no signature). */
async function uptoPayment(path: string, mode: string) {
  const challenge = await call(new Request(`${BASE}${path}`), {
    FACILITATOR_URLS: `${inject("facilitatorBase")}/${mode}`,
  });
  expect(challenge.status).toBe(402);
  const required = decodeHeader<{ resource: unknown; accepts: Array<Record<string, unknown>> }>(
    challenge.headers.get("PAYMENT-REQUIRED"),
  );
  const accepted = required.accepts[0]!;
  const nonce = BigInt(`0x${unique()}${unique()}`);
  const payer = privateKeyToAccount(generatePrivateKey()).address;
  const payload = {
    x402Version: 2,
    resource: required.resource,
    accepted,
    payload: {
      signature: "0x" + "22".repeat(65),
      permit2Authorization: {
        from: payer,
        permitted: { token: accepted["asset"], amount: accepted["amount"] },
        spender: UPTO_PROXY,
        nonce: String(nonce),
        deadline: String(Math.floor(Date.now() / 1000) + 600),
        witness: {
          to: accepted["payTo"],
          facilitator: (accepted["extra"] as Record<string, string>)["facilitatorAddress"],
          // Recent, so the chain's log search covers every block that could hold the transfer.
          validAfter: String(Math.floor(Date.now() / 1000) - 30),
        },
      },
    },
  };
  return { header: btoa(JSON.stringify(payload)), nonce, payer };
}

function send(path: string, header: string, mode: string): Promise<Response> {
  return call(new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }), {
    FACILITATOR_URLS: `${inject("facilitatorBase")}/${mode}`,
    ORIGIN_URL: ORIGIN,
    CHAIN_RPC_URLS: JSON.stringify({ "eip155:84532": RPC }),
  });
}

describe.each([
  ["an sse rule answered with JSON", "/sse"],
  ["a header-metered rule", "/header"],
])("a pending metered payment (%s) whose copy meets another usage", (_name, prefix) => {
  it("should settle the copy for what the lost settlement asked for, and serve it once the chain shows that transfer (regression: the copy re-priced it, found no transfer of the new amount and refused a paid payment)", async () => {
    // Random usages, the second always different from the first.
    const first = 1 + Math.floor(Math.random() * 400);
    const second = first + 1 + Math.floor(Math.random() * 50);
    const mode = `metered-pending-${unique()}`;
    const path = `${prefix}/${unique()}`;
    const { header, nonce, payer } = await uptoPayment(path, mode);
    const world: World = { usages: [first, second], settles: [], payer, nonce };
    fake(world, mode);

    const lost = await send(path, header, mode);
    expect(lost.status).toBe(502);
    expect(await lost.text()).toContain("payment_pending");
    const charged = String(first * 100);
    expect(world.settles).toEqual([charged]);

    const copy = await send(path, header, mode);
    // The permit moved `charged` once: the payer is served, with that transfer as receipt.
    expect(world.mined?.amount).toBe(charged);
    expect(copy.status).toBe(200);
    expect(decodeHeader(copy.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      transaction: world.mined?.hash,
      amount: charged,
    });
    expect(await copy.json()).toMatchObject({ text: "metered answer" });
    // Every settle of the one permit asked for the same amount.
    expect(new Set(world.settles)).toEqual(new Set([charged]));
  });
});

describe("a pending metered payment whose JSON answer was withheld, copied by a request the origin streams to", () => {
  it("should settle the stream's end for what the lost settlement asked for and record it paid (regression: it settled the stream's usage, found no transfer of it and refused a paid payment after the stream went out)", async () => {
    const first = 1 + Math.floor(Math.random() * 400);
    const second = first + 1 + Math.floor(Math.random() * 50);
    const mode = `metered-pending-${unique()}`;
    const path = `/sse/${unique()}`;
    const { header, nonce, payer } = await uptoPayment(path, mode);
    const world: World = { usages: [first, second], streamFrom: 1, settles: [], payer, nonce };
    fake(world, mode);

    const lost = await send(path, header, mode);
    expect(lost.status).toBe(502);
    const charged = String(first * 100);

    const copy = await send(path, header, mode);
    expect(copy.status).toBe(200);
    const text = await copy.text();
    expect(text).toContain("metered answer");
    expect(world.mined?.amount).toBe(charged);
    // The stream closes with the receipt of the one transfer, not a settlement error.
    expect(text).toContain("event: x402-payment-response");
    expect(text).toContain(world.mined!.hash);
    expect(new Set(world.settles)).toEqual(new Set([charged]));
    // A further copy is told it settled (the stream went out), never refused.
    const again = await send(path, header, mode);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("payment_already_settled");
  });
});
