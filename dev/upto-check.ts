/**
 * Proof that the x402 `upto` scheme (metered payments over Permit2) works end to end on the local
 * chain with the official code only: the `@x402/evm` upto client signs, the official facilitator
 * (dev/facilitator.ts) verifies and settles through our proxy and Uniswap's Permit2.
 *
 *   node dev/upto-check.ts
 *
 * Self-contained: starts its own anvil and facilitator on free loopback ports and stops them.
 * Signs for a maximum of 50000 (0.05 USDC), settles 12345, and checks on chain that exactly
 * 12345 moved payer → payee, that the same payment cannot be settled twice, that settling more
 * than the maximum is refused, that only the facilitator named in the signed witness can settle,
 * and that a payer without a Permit2 approval is told so (and passes once `approvePermit2` ran).
 */
import { x402Client } from "@x402/core/client";
import type {
  PaymentPayload,
  PaymentRequirements,
  SettleResponse,
  SupportedResponse,
  VerifyResponse,
} from "@x402/core/types";
import { x402UptoPermit2ProxyABI } from "@x402/evm";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  getAddress,
  http,
  parseEther,
  type Address,
  type Hex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { FACILITATOR_KEY, PAY_TO, PAYER, freePort, localChain, startChain } from "./chain.ts";
import { startFacilitator } from "./facilitator.ts";
import {
  PERMIT2_ADDRESS,
  UPTO_PROXY_ADDRESS,
  approvePermit2,
  deployPermit2,
  permit2Allowance,
} from "./permit2.ts";
import { USDC_ADDRESS, balanceOf, deployUsdc } from "./usdc.ts";

const NETWORK = "eip155:84532";
const MAX = 50_000n;
const ACTUAL = 12_345n;

let failures = 0;
const t0 = Date.now();
const ms = () => `${String(Date.now() - t0).padStart(5)} ms`;
const say = (line: string) => console.log(`${ms()}  ${line}`);
function check(ok: boolean, what: string): void {
  if (!ok) failures++;
  console.log(`${ms()}  ${ok ? "ok  " : "FAIL"} ${what}`);
}

async function post<T>(base: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const usdc = (atomic: bigint) => `${atomic} (${(Number(atomic) / 1e6).toFixed(6)} USDC)`;

async function main(): Promise<void> {
  const chain = await startChain({ port: await freePort() });
  const stops: Array<() => Promise<void>> = [chain.stop];
  try {
    const rpcUrl = chain.rpcUrl;
    say(`anvil on ${rpcUrl}`);
    await deployUsdc(rpcUrl);
    say("USDC deployed, payer funded with 1000 USDC");
    const placed = await deployPermit2(rpcUrl);
    check(
      placed.placed,
      `Permit2 at ${placed.permit2}, DOMAIN_SEPARATOR ${placed.domainSeparator} = hashDomain(Permit2, ${placed.chainId}, ${PERMIT2_ADDRESS})`,
    );
    check((await deployPermit2(rpcUrl)).placed === false, "deployPermit2 again: nothing to do");
    const approval = await approvePermit2(rpcUrl, PAYER.privateKey);
    check(
      (await permit2Allowance(rpcUrl, PAYER.address)) > 10n ** 30n,
      `payer approved Permit2 for USDC (tx ${approval ?? "none"})`,
    );

    const facilitator = await startFacilitator({
      port: 0,
      rpcUrl,
      privateKey: FACILITATOR_KEY.privateKey,
    });
    stops.push(facilitator.stop);
    say(`facilitator on ${facilitator.url}`);

    const supported = (await (
      await fetch(`${facilitator.url}/supported`)
    ).json()) as SupportedResponse;
    const kinds = supported.kinds.map(
      (k) =>
        `v${k.x402Version} ${k.scheme} ${k.network}${k.extra ? ` ${JSON.stringify(k.extra)}` : ""}`,
    );
    say(`/supported kinds:\n${kinds.map((k) => `           ${k}`).join("\n")}`);
    const upto = supported.kinds.find(
      (k) => k.x402Version === 2 && k.scheme === "upto" && k.network === NETWORK,
    );
    const facilitatorAddress = upto?.extra?.["facilitatorAddress"];
    check(
      typeof facilitatorAddress === "string" &&
        getAddress(facilitatorAddress) === FACILITATOR_KEY.address,
      `/supported lists upto on ${NETWORK} with extra.facilitatorAddress ${String(facilitatorAddress)}`,
    );
    if (typeof facilitatorAddress !== "string") throw new Error("no upto kind to test");

    const requirements: PaymentRequirements = {
      scheme: "upto",
      network: NETWORK,
      amount: MAX.toString(),
      asset: USDC_ADDRESS,
      payTo: PAY_TO.address,
      maxTimeoutSeconds: 60,
      extra: {
        name: "USDC",
        version: "2",
        assetTransferMethod: "permit2",
        facilitatorAddress,
      },
    };
    say(`requirements: ${JSON.stringify(requirements)}`);
    const sign = async (privateKey: Hex): Promise<PaymentPayload> =>
      new x402Client()
        .register("eip155:*", new UptoEvmScheme(privateKeyToAccount(privateKey)))
        .createPaymentPayload({
          x402Version: 2,
          resource: { url: "http://127.0.0.1/metered", description: "metered", mimeType: "" },
          accepts: [requirements],
        });
    const payment = await sign(PAYER.privateKey);
    say(
      `payload signed by the official upto client:\n           ${JSON.stringify(payment.payload)}`,
    );
    const verify = (paymentPayload: PaymentPayload, paymentRequirements = requirements) =>
      post<VerifyResponse>(facilitator.url, "/verify", {
        x402Version: 2,
        paymentPayload,
        paymentRequirements,
      });
    const settle = (paymentPayload: PaymentPayload, amount: bigint) =>
      post<SettleResponse>(facilitator.url, "/settle", {
        x402Version: 2,
        paymentPayload,
        paymentRequirements: { ...requirements, amount: amount.toString() },
      });
    const balances = async () => ({
      payer: await balanceOf(rpcUrl, PAYER.address),
      payTo: await balanceOf(rpcUrl, PAY_TO.address),
    });

    const verified = await verify(payment);
    check(verified.isValid, `/verify with amount = max ${MAX}: ${JSON.stringify(verified)}`);
    const notMax = await verify(payment, { ...requirements, amount: ACTUAL.toString() });
    check(
      !notMax.isValid,
      `/verify with amount ${ACTUAL} (not the signed max) is refused: ${notMax.invalidReason}`,
    );

    const before = await balances();
    say(`before: payer ${usdc(before.payer)}, payTo ${usdc(before.payTo)}`);

    const over = await settle(payment, MAX + 1n);
    const afterOver = await balances();
    check(
      !over.success && afterOver.payer === before.payer && afterOver.payTo === before.payTo,
      `/settle ${MAX + 1n} (above the max) refused, nothing moved: ${over.errorReason}`,
    );

    const settled = await settle(payment, ACTUAL);
    const after = await balances();
    check(
      settled.success && settled.amount === ACTUAL.toString(),
      `/settle ${ACTUAL}: success ${settled.success}, amount ${settled.amount}, tx ${settled.transaction}`,
    );
    say(`after:  payer ${usdc(after.payer)}, payTo ${usdc(after.payTo)}`);
    check(
      before.payer - after.payer === ACTUAL && after.payTo - before.payTo === ACTUAL,
      `on chain: payer -${before.payer - after.payer}, payTo +${after.payTo - before.payTo} (exactly ${ACTUAL} of the ${MAX} signed)`,
    );

    const again = await settle(payment, ACTUAL);
    const afterAgain = await balances();
    check(
      !again.success && afterAgain.payer === after.payer && afterAgain.payTo === after.payTo,
      `/settle the same payment again refused, nothing moved: ${again.errorReason}`,
    );
    const reverify = await verify(payment);
    check(!reverify.isValid, `/verify the spent payment: ${reverify.invalidReason}`);

    // Only the facilitator named in the witness may settle: ask the proxy directly, as another account.
    const second = await sign(PAYER.privateKey);
    const auth = (second.payload as { permit2Authorization: UptoAuthorization })
      .permit2Authorization;
    const signature = (second.payload as { signature: Hex }).signature;
    const client = createPublicClient({
      chain: localChain(rpcUrl),
      transport: http(rpcUrl, { retryCount: 0 }),
    });
    const args = [
      {
        permitted: { token: auth.permitted.token, amount: BigInt(auth.permitted.amount) },
        nonce: BigInt(auth.nonce),
        deadline: BigInt(auth.deadline),
      },
      ACTUAL,
      auth.from,
      {
        to: auth.witness.to,
        facilitator: auth.witness.facilitator,
        validAfter: BigInt(auth.witness.validAfter),
      },
      signature,
    ] as const;
    const revertOf = async (account: Address) => {
      try {
        await client.simulateContract({
          account,
          address: UPTO_PROXY_ADDRESS,
          abi: x402UptoPermit2ProxyABI,
          functionName: "settle",
          args,
        });
        return "no revert";
      } catch (error) {
        const reverted =
          error instanceof BaseError
            ? error.walk((e) => e instanceof ContractFunctionRevertedError)
            : null;
        return reverted instanceof ContractFunctionRevertedError
          ? (reverted.data?.errorName ?? reverted.shortMessage)
          : String(error);
      }
    };
    check(
      (await revertOf(PAY_TO.address)) === "UnauthorizedFacilitator",
      `proxy.settle called by payTo (not the witnessed facilitator) reverts UnauthorizedFacilitator`,
    );
    check(
      (await revertOf(FACILITATOR_KEY.address)) === "no revert",
      "proxy.settle simulated by the witnessed facilitator succeeds",
    );
    const tooMuch = await client
      .simulateContract({
        account: FACILITATOR_KEY.address,
        address: UPTO_PROXY_ADDRESS,
        abi: x402UptoPermit2ProxyABI,
        functionName: "settle",
        args: [args[0], MAX + 1n, args[2], args[3], args[4]],
      })
      .then(
        () => "no revert",
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
    check(
      tooMuch.includes("AmountExceedsPermitted"),
      "proxy.settle of more than the permit reverts AmountExceedsPermitted",
    );

    // A fresh payer with USDC and gas but no Permit2 approval.
    const freshKey = generatePrivateKey();
    const fresh = privateKeyToAccount(freshKey);
    await deployUsdc(rpcUrl, { fund: [{ address: fresh.address, amount: 1_000000n }] });
    await createTestClient({
      mode: "anvil",
      chain: localChain(rpcUrl),
      transport: http(rpcUrl, { retryCount: 0 }),
    }).setBalance({ address: fresh.address, value: parseEther("1") });
    const freshPayment = await sign(freshKey);
    const unapproved = await verify(freshPayment);
    check(
      !unapproved.isValid,
      `fresh payer without a Permit2 approval: /verify says ${unapproved.invalidReason}`,
    );
    await approvePermit2(rpcUrl, freshKey);
    const approved = await verify(freshPayment);
    check(approved.isValid, "after approvePermit2(rpcUrl, freshKey): /verify is valid");
    const freshSettled = await settle(freshPayment, 1n);
    check(
      freshSettled.success && (await balanceOf(rpcUrl, fresh.address)) === 999_999n,
      `fresh payer settles 1 unit: ${freshSettled.success}, balance ${await balanceOf(rpcUrl, fresh.address)}`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

interface UptoAuthorization {
  from: Address;
  permitted: { token: Address; amount: string };
  spender: Address;
  nonce: string;
  deadline: string;
  witness: { to: Address; facilitator: Address; validAfter: string };
}

await main().catch((error: unknown) => {
  failures++;
  console.error(`\nupto-check failed: ${error instanceof Error ? error.stack : String(error)}`);
});
console.log(
  failures === 0
    ? `\nupto on the local chain: all checks passed in ${Date.now() - t0} ms`
    : `\n${failures} check(s) failed`,
);
process.exit(failures === 0 ? 0 : 1);
