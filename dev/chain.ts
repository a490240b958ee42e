/**
 * A local EVM chain for development and tests: anvil on chain id 84532 (Base Sepolia's id), bound
 * to 127.0.0.1, with anvil's well-known dev accounts.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { defineChain, type Address, type Chain, type Hex } from "viem";
import { startProcessGroup, waitUntil } from "./processes.ts";

/** A funded dev account: its address and its private key (hex), both public knowledge. */
export interface DevAccount {
  readonly address: Address;
  readonly privateKey: Hex;
}

/** Account #0 of anvil's default mnemonic: deploys contracts and owns the token. */
export const DEPLOYER: DevAccount = {
  address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  privateKey: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
};
/** Account #1: the paying client (funded with USDC by `deployUsdc`). */
export const PAYER: DevAccount = {
  address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  privateKey: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
};
/** Account #2: the merchant that receives payments. */
export const PAY_TO: DevAccount = {
  address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  privateKey: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
};
/** Account #3: the facilitator's gas-paying signer. */
export const FACILITATOR_KEY: DevAccount = {
  address: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  privateKey: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
};
/** Account #4: the USDC proxy admin (must differ from the owner: the admin cannot call through). */
export const TOKEN_ADMIN: DevAccount = {
  address: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
  privateKey: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
};

/** The chain id of the local chain: Base Sepolia's, so x402's default USDC settings apply. */
export const LOCAL_CHAIN_ID = 84532;

/** Returns a viem chain for the local anvil at `rpcUrl` (id 84532, with Multicall3). */
export function localChain(rpcUrl: string, chainId = LOCAL_CHAIN_ID): Chain {
  return defineChain({
    id: chainId,
    name: "Local Base Sepolia",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    contracts: { multicall3: { address: "0xcA11bde05977b3631167028862bE2a173976CA11" } },
    testnet: true,
  });
}

/** Resolves to a TCP port on 127.0.0.1 that was free a moment ago (listen on 0, then close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** Rejects when `host:port` cannot be bound (e.g. EADDRINUSE), so we never talk to a stranger. */
async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", (err) =>
      reject(new Error(`anvil: cannot use ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** The anvil binary, from the platform package `@foundry-rs/anvil-<os>-<arch>` (Linux x64 pinned). */
function anvilPath(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const binary = new URL(`../node_modules/${pkg}/bin/anvil`, import.meta.url);
  if (!existsSync(binary)) {
    throw new Error(`anvil is not installed: ${pkg} is missing (run npm ci; pinned for linux-x64)`);
  }
  return fileURLToPath(binary);
}

/** A running anvil: its JSON-RPC URL, its process id and an idempotent `stop()`. */
export interface RunningChain {
  readonly rpcUrl: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts anvil (chain id 84532) on `host:port` in its own process group and resolves once it
 * answers `eth_chainId`; rejects with anvil's output if it exits first or the port is taken.
 */
export async function startChain(opts: {
  port: number;
  host?: string;
  /** The chain id (default 84532, Base Sepolia's). */
  chainId?: number;
}): Promise<RunningChain> {
  const chainId = opts.chainId ?? LOCAL_CHAIN_ID;
  const host = opts.host ?? "127.0.0.1";
  if (!Number.isInteger(opts.port) || opts.port <= 0) {
    throw new Error("startChain: port must be > 0");
  }
  await assertPortFree(host, opts.port);
  const args = ["--chain-id", String(chainId), "--host", host, "--port", String(opts.port)];
  const group = startProcessGroup(anvilPath(), [...args, "--silent"]);
  const rpcUrl = `http://${host.includes(":") ? `[${host}]` : host}:${opts.port}`;
  try {
    await waitUntil("anvil", () => answersChainId(rpcUrl, chainId), group, 15_000);
  } catch (error) {
    await group.stop();
    throw error;
  }
  return { rpcUrl, pid: group.pid, stop: () => group.stop(2000) };
}

/** True when `rpcUrl` answers `eth_chainId` with `chainId`. */
async function answersChainId(rpcUrl: string, chainId: number): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    const body: unknown = await response.json();
    return (
      typeof body === "object" &&
      body !== null &&
      "result" in body &&
      body.result === `0x${chainId.toString(16)}`
    );
  } catch {
    return false;
  }
}
