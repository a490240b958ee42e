/**
 * `npm run pay -- <url> [--v1] [--siwx] [--token T] [--rpc URL]`: buys a URL from the local
 * paywall with the official x402 client and the dev payer's key (anvil #1), then prints the
 * response, the receipt and the payer's USDC balance before and after. `--siwx` signs in with the
 * official SIWx hook before paying; `--token` sends a session token (`PAYMENT-SESSION`).
 */
import { PAYER } from "../dev/chain.ts";
import { payingFetchV1, payingFetchV2, receiptOf } from "../dev/clients.ts";
import { balanceOf } from "../dev/usdc.ts";

const args = process.argv.slice(2);
const url = args.find(
  (a, i) => !a.startsWith("--") && !["--token", "--rpc"].includes(args[i - 1] ?? ""),
);
const v1 = args.includes("--v1");
const siwx = args.includes("--siwx");
const tokenIndex = args.indexOf("--token");
const token = tokenIndex >= 0 ? args[tokenIndex + 1] : undefined;
const rpcIndex = args.indexOf("--rpc");
const rpcUrl = rpcIndex >= 0 ? (args[rpcIndex + 1] ?? "") : "http://127.0.0.1:8545";
if (!url) {
  console.error(
    "usage: npm run pay -- <url> [--v1] [--siwx] [--token <session token>] [--rpc http://127.0.0.1:8545]",
  );
  process.exit(2);
}

const usdc = (atomic: bigint) => `${(Number(atomic) / 1e6).toFixed(6)} USDC`;
const before = await balanceOf(rpcUrl, PAYER.address).catch(() => undefined);
const payingFetch = v1
  ? payingFetchV1(PAYER.privateKey, rpcUrl)
  : payingFetchV2(PAYER.privateKey, fetch, { siwx });
console.log(
  `paying for ${url} with ${v1 ? "x402-fetch 1.x (V1)" : "@x402/fetch (V2)"} from ${PAYER.address}`,
);

let response: Response;
try {
  response = await payingFetch(url, token ? { headers: { "PAYMENT-SESSION": token } } : {});
} catch (error) {
  console.error(`payment failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
console.log(`\nHTTP ${response.status} ${response.statusText}`);
for (const [name, value] of response.headers) console.log(`${name}: ${value}`);
const body = await response.text();
console.log(`\n${body}`);
// A metered stream is settled after its body: the receipt is its last event, not a header.
const streamed = response.headers.get("x402-settled-after")
  ? /event: x402-payment-response\ndata: (.*)\n/.exec(body)?.[1]
  : undefined;
const receipt = receiptOf(response) ?? (streamed ? (JSON.parse(streamed) as unknown) : undefined);
console.log(
  receipt ? `\nreceipt: ${JSON.stringify(receipt, null, 2)}` : "\nno receipt (nothing was charged)",
);
const session = response.headers.get("PAYMENT-SESSION");
if (session) {
  console.log(`session token (reuse it with --token, or --siwx to sign in): ${session}`);
}
const after = await balanceOf(rpcUrl, PAYER.address).catch(() => undefined);
if (before !== undefined && after !== undefined) {
  console.log(`payer balance: ${usdc(before)} → ${usdc(after)} (spent ${usdc(before - after)})`);
}
process.exit(response.ok ? 0 : 1);
