/* global process, console, fetch, Buffer */
/**
 * `node .ci/pay-check.mjs <clone> <url>`: with the local stack of `<clone>` running, asks `<url>`
 * for its price (the 402's PAYMENT-REQUIRED), reads the payer's and the payee's USDC balances
 * from the chain, pays once with `npm run pay` in `<clone>`, and checks on the chain that exactly
 * the price moved from one to the other. Plain JavaScript and raw JSON-RPC, so the check shares
 * no code with what it checks.
 */
import { spawnSync } from "node:child_process";

const [clone, url] = process.argv.slice(2);
const RPC = "http://127.0.0.1:8545";
const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // anvil #1, the dev payer

function fail(message) {
  console.error(`pay-check: ${message}`);
  process.exit(1);
}

async function balance(token, owner) {
  const data = `0x70a08231${owner.slice(2).toLowerCase().padStart(64, "0")}`; // balanceOf(owner)
  const response = await fetch(RPC, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_call",
      params: [{ to: token, data }, "latest"],
    }),
  });
  const { result, error } = await response.json();
  if (error || typeof result !== "string") fail(`eth_call failed: ${JSON.stringify(error)}`);
  return BigInt(result);
}

if (!clone || !url) fail("usage: node .ci/pay-check.mjs <clone dir> <url>");
const challenge = await fetch(url);
const header = challenge.headers.get("payment-required");
if (challenge.status !== 402 || !header) fail(`${url} answered ${challenge.status}, not a 402`);
const offer = JSON.parse(Buffer.from(header, "base64").toString("utf8")).accepts?.[0];
if (!offer?.amount || !offer.asset || !offer.payTo) fail(`no price in the 402: ${header}`);
const price = BigInt(offer.amount);

const before = [await balance(offer.asset, PAYER), await balance(offer.asset, offer.payTo)];
const pay = spawnSync("npm", ["run", "pay", "--", url], { cwd: clone, encoding: "utf8" });
if (pay.status !== 0) {
  fail(`npm run pay exited with ${pay.status}:\n${pay.stdout}\n${pay.stderr}`);
}
const after = [await balance(offer.asset, PAYER), await balance(offer.asset, offer.payTo)];

const usdc = (atomic) => `${(Number(atomic) / 1e6).toFixed(6)} USDC`;
console.log(`price ${usdc(price)} (${price} atomic) on ${offer.network}, asset ${offer.asset}`);
console.log(`payer ${PAYER}: ${usdc(before[0])} → ${usdc(after[0])}`);
console.log(`payee ${offer.payTo}: ${usdc(before[1])} → ${usdc(after[1])}`);
if (before[0] - after[0] !== price || after[1] - before[1] !== price) {
  fail(`the balances did not move by exactly the price\n${pay.stdout}`);
}
console.log("the payment moved exactly the price from the payer to the payee");
