import type { BrowserContext } from "playwright-core";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

/**
 * A test EIP-1193 wallet injected into every page of a browser context: announced through
 * EIP-6963 and/or set as `window.ethereum`. It answers accounts and chain requests itself,
 * sends `eth_call` to the local chain and signs typed data in Node with the given key through
 * viem (as a real wallet would, it refuses to sign for a chain it is not on). It can decline
 * signatures (code 4001), lack chains (code 4902) or sign the wrong message.
 */

/** How the injected wallet behaves. */
export interface WalletOptions {
  key: Hex;
  /** The chain the wallet starts on. */
  chainId: number;
  /** The chains it can switch to; others answer 4902. */
  chains: number[];
  eip6963: boolean;
  legacy: boolean;
  /** Decline every signature request (code 4001). */
  reject?: boolean;
  /** Sign a different nonce than the one asked for, so the signature does not verify. */
  tamper?: boolean;
}

/** What the wallet was asked: method names in order, and the typed data it signed. */
export interface WalletLog {
  methods(): Promise<string[]>;
  signed: TypedData[];
}

/** eth_signTypedData_v4's JSON, as the page sent it. */
export interface TypedData {
  domain: Record<string, unknown>;
  types: Record<string, Array<{ name: string; type: string }>>;
  primaryType: string;
  message: Record<string, string>;
}

interface PageConfig {
  address: string;
  chainId: number;
  chains: number[];
  eip6963: boolean;
  legacy: boolean;
  reject: boolean;
}

/** Injects the wallet into every page the context opens from now on. */
export async function injectWallet(
  context: BrowserContext,
  rpcUrl: string,
  options: WalletOptions,
): Promise<WalletLog> {
  const account = privateKeyToAccount(options.key);
  const signed: WalletLog["signed"] = [];
  await context.exposeBinding(
    "__testWalletRpc",
    async (_source, method: string, params: unknown) => {
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      const body = (await response.json()) as { result?: unknown; error?: { message: string } };
      if (body.error) throw new Error(body.error.message);
      return body.result;
    },
  );
  await context.exposeBinding(
    "__testWalletSign",
    async (_source, from: string, json: string, chainId: number) => {
      if (from.toLowerCase() !== account.address.toLowerCase()) throw new Error("unknown account");
      const data = JSON.parse(json) as TypedData;
      if (Number(data.domain["chainId"]) !== chainId) throw new Error("chainId does not match");
      signed.push(data);
      const types = { ...data.types };
      delete types["EIP712Domain"]; // viem derives the domain type itself
      const message = {
        ...data.message,
        value: BigInt(data.message["value"] ?? 0),
        validAfter: BigInt(data.message["validAfter"] ?? 0),
        validBefore: BigInt(data.message["validBefore"] ?? 0),
        nonce: options.tamper ? `0x${"00".repeat(32)}` : data.message["nonce"],
      };
      return account.signTypedData({
        domain: data.domain,
        types,
        primaryType: data.primaryType,
        message,
      } as unknown as Parameters<typeof account.signTypedData>[0]);
    },
  );
  const config: PageConfig = {
    address: account.address,
    chainId: options.chainId,
    chains: options.chains,
    eip6963: options.eip6963,
    legacy: options.legacy,
    reject: options.reject === true,
  };
  await context.addInitScript(pageWallet, config);
  return {
    signed,
    async methods() {
      const page = context.pages()[0];
      return page ? page.evaluate(() => (window as unknown as WalletWindow).__walletCalls) : [];
    },
  };
}

interface WalletWindow {
  __walletCalls: string[];
  __testWalletRpc(method: string, params: unknown): Promise<unknown>;
  __testWalletSign(from: string, json: string, chainId: number): Promise<string>;
  ethereum?: unknown;
}

/** Runs inside the page, before its scripts (serialised by playwright: no outer references). */
function pageWallet(config: PageConfig): void {
  const w = window as unknown as WalletWindow;
  const calls: string[] = [];
  w.__walletCalls = calls;
  let chainId = config.chainId;
  const fail = (code: number, message: string) => Object.assign(new Error(message), { code });
  const provider = {
    async request(args: { method: string; params?: unknown[] }): Promise<unknown> {
      const { method, params = [] } = args;
      calls.push(method);
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [config.address];
        case "eth_chainId":
          return `0x${chainId.toString(16)}`;
        case "wallet_switchEthereumChain": {
          const wanted = parseInt((params[0] as { chainId: string }).chainId, 16);
          if (!config.chains.includes(wanted)) throw fail(4902, "Unrecognized chain ID");
          chainId = wanted;
          return null;
        }
        case "eth_call":
          return w.__testWalletRpc(method, params);
        case "eth_signTypedData_v4":
          if (config.reject) throw fail(4001, "User rejected the request.");
          return w.__testWalletSign(String(params[0]), String(params[1]), chainId);
        default:
          throw fail(4200, `unsupported method ${method}`);
      }
    },
    on() {},
    removeListener() {},
  };
  if (config.legacy) w.ethereum = provider;
  if (config.eip6963) {
    const info = {
      uuid: "6f1b9d8e-2f4c-4a51-9a3e-0c2d5b7e8f10",
      name: "Test Wallet",
      icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E",
      rdns: "dev.x402.test-wallet",
    };
    const detail = Object.freeze({ info, provider });
    const announce = () =>
      window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  }
}
