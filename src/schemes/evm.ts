import type { ChainFamily, NetworkInfo } from "./types";

/**
 * EVM chains (CAIP-2 namespace `eip155`): 0x addresses, compared in lower case, and the USDC
 * deployments x402's SDK knows (`DEFAULT_ASSETS` of `@x402/evm`; a unit test holds this table to
 * it). Every token here implements EIP-3009, which the `exact` scheme needs.
 */

/** An EVM address: 0x and 20 bytes of hex (any letter case). */
export const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Why an EVM token without its EIP-712 domain cannot be offered. */
export const NO_DOMAIN = "an EVM token needs its EIP-712 domain (extra: {name, version})";

function usdc(address: string, name: string): NetworkInfo["usdc"] {
  return { address, decimals: 6, eip712: { name, version: "2" } };
}

const NETWORKS: Readonly<Record<string, NetworkInfo>> = {
  "eip155:8453": {
    label: "Base",
    usdc: usdc("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin"),
    v1Name: "base",
  },
  "eip155:84532": {
    label: "Base Sepolia",
    usdc: usdc("0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC"),
    v1Name: "base-sepolia",
  },
  "eip155:1": {
    label: "Ethereum",
    usdc: usdc("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin"),
    v1Name: "ethereum",
  },
  "eip155:137": {
    label: "Polygon",
    usdc: usdc("0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin"),
    v1Name: "polygon",
  },
  "eip155:42161": {
    label: "Arbitrum One",
    usdc: usdc("0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USD Coin"),
  },
  "eip155:421614": {
    label: "Arbitrum Sepolia",
    usdc: usdc("0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", "USD Coin"),
  },
  "eip155:43114": {
    label: "Avalanche C-Chain",
    usdc: usdc("0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin"),
    v1Name: "avalanche",
  },
  "eip155:143": {
    label: "Monad",
    usdc: usdc("0x754704Bc059F8C67012fEd69BC8A327a5aafb603", "USDC"),
    v1Name: "monad",
  },
  "eip155:1329": {
    label: "Sei",
    usdc: usdc("0xe15fC38F6D8c56aF07bbCBe3BAf5708A2Bf42392", "USDC"),
    v1Name: "sei",
  },
  "eip155:1328": {
    label: "Sei testnet",
    usdc: usdc("0x4fCF1784B31630811181f670Aea7A7bEF803eaED", "USDC"),
    v1Name: "sei-testnet",
  },
  "eip155:42220": {
    label: "Celo",
    usdc: usdc("0xcebA9300f2b948710d2653dD7B07f33A8B32118C", "USDC"),
    v1Name: "celo",
  },
  "eip155:11142220": {
    label: "Celo Sepolia",
    usdc: usdc("0x01C5C0122039549AD1493B8220cABEdD739BC44E", "USDC"),
  },
};

/** The EVM chain family. */
export const evm: ChainFamily = {
  namespace: "eip155",
  isAddress: (value) => EVM_ADDRESS.test(value),
  addressHint: "a 0x address (40 hex digits)",
  fold: (address) => address.toLowerCase(),
  networks: NETWORKS,
};
