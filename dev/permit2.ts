/**
 * Uniswap's Permit2 and the x402 `upto` proxy on the local anvil, at the addresses the official
 * `@x402/evm` client signs for (Permit2 0x0000…78BA3, proxy 0x4020…0002), so the `upto` scheme
 * (metered payments: sign a maximum, settle what was used) works with the official facilitator.
 *
 * Both come from committed artifacts in dev/contracts/ (built by `node scripts/build-contracts.ts`
 * from pinned sources); nothing is compiled or downloaded here. The runtime code is placed with
 * `anvil_setCode`, its immutables filled in as the constructor would have filled them had it run
 * at that address on this chain: Permit2 caches its EIP-712 domain separator (chain id and
 * address(this)) and that chain id; the proxy keeps Permit2's address. The build checks that
 * filling in equals what a real CREATE deployment leaves behind; `deployPermit2` checks the
 * placed Permit2's `DOMAIN_SEPARATOR()` against the one the client signs with.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { PERMIT2_ADDRESS as X402_PERMIT2_ADDRESS, x402UptoPermit2ProxyAddress } from "@x402/evm";
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  getAddress,
  hashDomain,
  http,
  maxUint256,
  pad,
  publicActions,
  toHex,
  type Abi,
  type Account,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { localChain } from "./chain.ts";
import { USDC_ADDRESS } from "./usdc.ts";

/** Permit2's canonical address (the same on every chain). */
export const PERMIT2_ADDRESS: Address = getAddress(X402_PERMIT2_ADDRESS);
/** The x402 `upto` proxy's address: the Permit2 spender the official upto client signs for. */
export const UPTO_PROXY_ADDRESS: Address = getAddress(x402UptoPermit2ProxyAddress);

/** Where an immutable's 32-byte value sits in the runtime code (bytes). */
interface CodeRange {
  start: number;
  length: number;
}

/** A committed contract artifact (dev/contracts/<name>.json). */
export interface ContractArtifact {
  contractName: string;
  abi: Abi;
  /** Creation code (constructor arguments not appended). */
  bytecode: Hex;
  /** Runtime code with every immutable left as zeros. */
  deployedBytecode: Hex;
  /** Immutables by variable name: where the constructor writes them into the runtime code. */
  immutableReferences: Record<string, CodeRange[]>;
  compiler: { version: string; package: string; integrity: string };
  settings: Record<string, unknown>;
  source: Record<string, unknown>;
  checks: Record<string, unknown>;
}

/** The artifacts this module reads, by file name. */
export type ArtifactName = "Permit2" | "X402UptoPermit2Proxy";

const CONTRACTS_DIR = new URL("./contracts/", import.meta.url);
const artifacts = new Map<ArtifactName, ContractArtifact>();

/** Reads (once) and shape-checks dev/contracts/<name>.json. */
export function readArtifact(name: ArtifactName): ContractArtifact {
  const known = artifacts.get(name);
  if (known) return known;
  const parsed: unknown = JSON.parse(readFileSync(new URL(`${name}.json`, CONTRACTS_DIR), "utf8"));
  const a = parsed as Partial<ContractArtifact>;
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !Array.isArray(a.abi) ||
    typeof a.bytecode !== "string" ||
    !a.bytecode.startsWith("0x") ||
    typeof a.deployedBytecode !== "string" ||
    !a.deployedBytecode.startsWith("0x") ||
    typeof a.immutableReferences !== "object"
  ) {
    throw new Error(`permit2: dev/contracts/${name}.json is not a contract artifact`);
  }
  const artifact = parsed as ContractArtifact;
  artifacts.set(name, artifact);
  return artifact;
}

/**
 * The runtime code of `artifact` with each named immutable set to its 32-byte value, as the
 * constructor would leave it. Every immutable must be given, and nothing else.
 */
export function fillImmutables(artifact: ContractArtifact, values: Record<string, Hex>): Hex {
  const names = Object.keys(artifact.immutableReferences).sort();
  const given = Object.keys(values).sort();
  if (names.join() !== given.join()) {
    throw new Error(
      `permit2: ${artifact.contractName} has immutables [${names.join(", ")}], got [${given.join(", ")}]`,
    );
  }
  let code = artifact.deployedBytecode.slice(2);
  for (const [name, ranges] of Object.entries(artifact.immutableReferences)) {
    const value = values[name] as Hex;
    if (!/^0x[0-9a-fA-F]{64}$/.test(value)) {
      throw new Error(`permit2: immutable ${name} needs 32 bytes, got ${value}`);
    }
    for (const { start, length } of ranges) {
      if (length !== 32) throw new Error(`permit2: immutable ${name} is ${length} bytes, not 32`);
      const at = start * 2;
      if (!/^0+$/.test(code.slice(at, at + 64))) {
        throw new Error(`permit2: ${artifact.contractName} has code where ${name} belongs`);
      }
      code = code.slice(0, at) + value.slice(2).toLowerCase() + code.slice(at + 64);
    }
  }
  return `0x${code}`;
}

/** Permit2's EIP-712 domain separator on `chainId` at `address` (what the client signs under). */
export function permit2DomainSeparator(chainId: number, address: Address = PERMIT2_ADDRESS): Hex {
  return hashDomain({
    domain: { name: "Permit2", chainId: BigInt(chainId), verifyingContract: address },
    types: {
      EIP712Domain: [
        { name: "name", type: "string" },
        { name: "chainId", type: "uint256" },
        { name: "verifyingContract", type: "address" },
      ],
    },
  });
}

/** Permit2's runtime code as its constructor leaves it at `address` on `chainId`. */
export function permit2Runtime(chainId: number, address: Address = PERMIT2_ADDRESS): Hex {
  return fillImmutables(readArtifact("Permit2"), {
    _CACHED_CHAIN_ID: pad(toHex(chainId)),
    _CACHED_DOMAIN_SEPARATOR: permit2DomainSeparator(chainId, address),
  });
}

/** The upto proxy's runtime code as its constructor leaves it for `permit2`. */
export function uptoProxyRuntime(permit2: Address = PERMIT2_ADDRESS): Hex {
  return fillImmutables(readArtifact("X402UptoPermit2Proxy"), { PERMIT2: pad(permit2) });
}

/** The proxy's Solidity source, whose SHA-256 its artifact records. */
const PROXY_SOURCE = new URL("X402UptoPermit2Proxy.sol", CONTRACTS_DIR);

/** Throws when dev/contracts/X402UptoPermit2Proxy.sol changed since its artifact was built. */
function assertProxyArtifactFresh(): void {
  const recorded = readArtifact("X402UptoPermit2Proxy").source["sha256"];
  const actual = createHash("sha256").update(readFileSync(PROXY_SOURCE)).digest("hex");
  if (recorded !== actual) {
    throw new Error(
      "permit2: dev/contracts/X402UptoPermit2Proxy.sol differs from its artifact; run node scripts/build-contracts.ts",
    );
  }
}

const permit2Abi = [
  {
    type: "function",
    name: "DOMAIN_SEPARATOR",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "bytes32" }],
  },
] as const;
const proxyAbi = [
  {
    type: "function",
    name: "PERMIT2",
    stateMutability: "view",
    inputs: [],
    outputs: [{ name: "", type: "address" }],
  },
] as const;
const erc20Abi = [
  {
    type: "function",
    name: "allowance",
    stateMutability: "view",
    inputs: [
      { name: "owner", type: "address" },
      { name: "spender", type: "address" },
    ],
    outputs: [{ name: "", type: "uint256" }],
  },
  {
    type: "function",
    name: "approve",
    stateMutability: "nonpayable",
    inputs: [
      { name: "spender", type: "address" },
      { name: "amount", type: "uint256" },
    ],
    outputs: [{ name: "", type: "bool" }],
  },
] as const;

function publicClient(rpcUrl: string) {
  return createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }), pollingInterval: 50 });
}

/** What `deployPermit2` found and did. */
export interface Permit2Deployment {
  chainId: number;
  permit2: Address;
  uptoProxy: Address;
  /** The EIP-712 domain separator Permit2 reports (checked equal to the client's). */
  domainSeparator: Hex;
  /** True when code was (re)placed, false when both contracts were already there. */
  placed: boolean;
}

/**
 * Places Permit2 and the x402 upto proxy at their canonical addresses on the anvil at `rpcUrl`
 * (any chain id) and checks them: Permit2's `DOMAIN_SEPARATOR()` must equal
 * `hashDomain({name: "Permit2", chainId, verifyingContract: PERMIT2_ADDRESS})` and the proxy's
 * `PERMIT2()` must be Permit2. Idempotent: code that is already right is left alone.
 */
export async function deployPermit2(rpcUrl: string): Promise<Permit2Deployment> {
  assertProxyArtifactFresh();
  const client = publicClient(rpcUrl);
  const chainId = await client.getChainId();
  const test = createTestClient({
    mode: "anvil",
    chain: localChain(rpcUrl, chainId),
    transport: http(rpcUrl, { retryCount: 0 }),
  });
  const wanted: Array<[Address, Hex]> = [
    [PERMIT2_ADDRESS, permit2Runtime(chainId)],
    [UPTO_PROXY_ADDRESS, uptoProxyRuntime()],
  ];
  let placed = false;
  for (const [address, bytecode] of wanted) {
    const current = await client.getCode({ address });
    if (current?.toLowerCase() === bytecode.toLowerCase()) continue;
    await test.setCode({ address, bytecode });
    placed = true;
  }

  const domainSeparator = await client.readContract({
    address: PERMIT2_ADDRESS,
    abi: permit2Abi,
    functionName: "DOMAIN_SEPARATOR",
  });
  if (domainSeparator !== permit2DomainSeparator(chainId)) {
    throw new Error(
      `permit2: DOMAIN_SEPARATOR() is ${domainSeparator}, expected ${permit2DomainSeparator(chainId)}`,
    );
  }
  const proxyPermit2 = await client.readContract({
    address: UPTO_PROXY_ADDRESS,
    abi: proxyAbi,
    functionName: "PERMIT2",
  });
  if (getAddress(proxyPermit2) !== PERMIT2_ADDRESS) {
    throw new Error(`permit2: the upto proxy's PERMIT2() is ${proxyPermit2}`);
  }
  return {
    chainId,
    permit2: PERMIT2_ADDRESS,
    uptoProxy: UPTO_PROXY_ADDRESS,
    domainSeparator,
    placed,
  };
}

/** Resolves to how much of `asset` Permit2 may move for `owner` (ERC-20 allowance). */
export async function permit2Allowance(
  rpcUrl: string,
  owner: Address,
  asset: Address = USDC_ADDRESS,
): Promise<bigint> {
  return publicClient(rpcUrl).readContract({
    address: asset,
    abi: erc20Abi,
    functionName: "allowance",
    args: [getAddress(owner), PERMIT2_ADDRESS],
  });
}

/**
 * Has `payer` (a private key or a viem local account, with ETH for gas) approve Permit2 for
 * `amount` (default: unlimited) of `asset` (default: the local USDC) — the one-time step a payer
 * takes before paying with Permit2-based schemes such as `upto`. Resolves to the approval's
 * transaction hash, or undefined when the allowance was already exactly `amount`.
 */
export async function approvePermit2(
  rpcUrl: string,
  payer: Hex | Account,
  asset: Address = USDC_ADDRESS,
  amount: bigint = maxUint256,
): Promise<Hex | undefined> {
  const account = typeof payer === "string" ? privateKeyToAccount(payer) : payer;
  if ((await permit2Allowance(rpcUrl, account.address, asset)) === amount) return undefined;
  const transport = http(rpcUrl, { retryCount: 0 });
  const chainId = await publicClient(rpcUrl).getChainId();
  const wallet = createWalletClient({
    account,
    chain: localChain(rpcUrl, chainId),
    transport,
    pollingInterval: 50,
  }).extend(publicActions);
  const hash = await wallet.writeContract({
    address: asset,
    abi: erc20Abi,
    functionName: "approve",
    args: [PERMIT2_ADDRESS, amount],
  });
  const receipt = await wallet.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`permit2: approval ${hash} reverted`);
  return hash;
}
