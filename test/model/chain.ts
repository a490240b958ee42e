import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeFunctionData,
  getAddress,
  http,
  keccak256,
  parseAbi,
  toBytes,
  type Address,
  type Hex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DEPLOYER, LOCAL_CHAIN_ID, localChain } from "../../dev/chain.ts";
import { UPTO_PROXY_ADDRESS, approvePermit2, readArtifact } from "../../dev/permit2.ts";
import { USDC_ADDRESS } from "../../dev/usdc.ts";

/**
 * What the model test does on and reads from the local chain (anvil with Circle's USDC): fund a
 * fresh payer per sequence, use an authorization's nonce behind the paywall's back (cancel it, or
 * spend it on a transfer to someone else), and list the transfers that reached the seller, each
 * with the authorization it used (EIP-3009 nonce, or the Permit2 nonce of an `upto` settlement).
 */

/** Where a sequence's stray transfers go (anvil #7): never the seller. */
export const ELSEWHERE: Address = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";

const usdcAbi = parseAbi([
  "function mint(address to, uint256 amount) returns (bool)",
  "function cancelAuthorization(address authorizer, bytes32 nonce, bytes signature)",
  "function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes signature)",
  "function authorizationState(address authorizer, bytes32 nonce) view returns (bool)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
]);
const AUTHORIZATION_USED = keccak256(toBytes("AuthorizationUsed(address,bytes32)"));
const DOMAIN = {
  name: "USDC",
  version: "2",
  chainId: LOCAL_CHAIN_ID,
  verifyingContract: USDC_ADDRESS,
} as const;

/** A payer of one sequence: a fresh key holding USDC, with Permit2 approved. */
export interface Payer {
  key: Hex;
  address: Address;
}

/** One transfer payer → seller, with the authorization it used (`undefined`: not readable). */
export interface SellerTransfer {
  transaction: string;
  value: bigint;
  key: string | undefined;
}

/** The chain calls of the model test, on the anvil at `rpcUrl`. */
export function modelChain(rpcUrl: string) {
  const chain = localChain(rpcUrl);
  const transport = http(rpcUrl, { retryCount: 0 });
  const reader = createPublicClient({ chain, transport, pollingInterval: 50 });
  const deployer = createWalletClient({
    account: privateKeyToAccount(DEPLOYER.privateKey),
    chain,
    transport,
    pollingInterval: 50,
  });
  const test = createTestClient({ mode: "anvil", chain, transport });
  const send = async (hash: Hex) => {
    const receipt = await reader.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`model: transaction ${hash} reverted`);
  };
  const proxyAbi = readArtifact("X402UptoPermit2Proxy").abi;

  return {
    blockNumber: () => reader.getBlockNumber(),

    /** A fresh payer with 10 USDC, ETH for its Permit2 approval, and Permit2 approved. */
    async newPayer(): Promise<Payer> {
      const key = generatePrivateKey();
      const address = privateKeyToAccount(key).address;
      await test.setBalance({ address, value: 10n ** 18n });
      await send(
        await deployer.writeContract({
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: "mint",
          args: [address, 10_000_000n],
        }),
      );
      await approvePermit2(rpcUrl, key);
      return { key, address };
    },

    /** The payer cancels an unused EIP-3009 authorization (anyone may submit the signature). */
    async cancel(payer: Payer, nonce: Hex): Promise<"cancelled" | "already used"> {
      if (await this.used(payer.address, nonce)) return "already used";
      const signature = await privateKeyToAccount(payer.key).signTypedData({
        domain: DOMAIN,
        types: {
          CancelAuthorization: [
            { name: "authorizer", type: "address" },
            { name: "nonce", type: "bytes32" },
          ],
        },
        primaryType: "CancelAuthorization",
        message: { authorizer: payer.address, nonce },
      });
      await send(
        await deployer.writeContract({
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: "cancelAuthorization",
          args: [payer.address, nonce, signature],
        }),
      );
      return "cancelled";
    },

    /** The payer spends the nonce on another transfer of `value` to ELSEWHERE. */
    async spendElsewhere(
      payer: Payer,
      nonce: Hex,
      value: bigint,
    ): Promise<"spent" | "already used"> {
      if (await this.used(payer.address, nonce)) return "already used";
      const validBefore = BigInt(Math.floor(Date.now() / 1000) + 3600);
      const message = {
        from: payer.address,
        to: ELSEWHERE,
        value,
        validAfter: 0n,
        validBefore,
        nonce,
      };
      const signature = await privateKeyToAccount(payer.key).signTypedData({
        domain: DOMAIN,
        types: {
          TransferWithAuthorization: [
            { name: "from", type: "address" },
            { name: "to", type: "address" },
            { name: "value", type: "uint256" },
            { name: "validAfter", type: "uint256" },
            { name: "validBefore", type: "uint256" },
            { name: "nonce", type: "bytes32" },
          ],
        },
        primaryType: "TransferWithAuthorization",
        message,
      });
      await send(
        await deployer.writeContract({
          address: USDC_ADDRESS,
          abi: usdcAbi,
          functionName: "transferWithAuthorization",
          args: [payer.address, ELSEWHERE, value, 0n, validBefore, nonce, signature],
        }),
      );
      return "spent";
    },

    /** Whether an EIP-3009 nonce of `payer` is used (transferred or cancelled). */
    used: (payer: Address, nonce: Hex) =>
      reader.readContract({
        address: USDC_ADDRESS,
        abi: usdcAbi,
        functionName: "authorizationState",
        args: [payer, nonce],
      }),

    /** Every USDC transfer payer → seller since `fromBlock`, with the authorization it used. */
    async sellerTransfers(
      payer: Address,
      seller: Address,
      fromBlock: bigint,
    ): Promise<SellerTransfer[]> {
      const logs = await reader.getLogs({
        address: USDC_ADDRESS,
        event: usdcAbi[4],
        args: { from: payer, to: getAddress(seller) },
        fromBlock,
        toBlock: "latest",
      });
      const out: SellerTransfer[] = [];
      for (const log of logs) {
        const hash = log.transactionHash;
        const receipt = await reader.getTransactionReceipt({ hash });
        const used = receipt.logs.find(
          (l) =>
            l.topics[0] === AUTHORIZATION_USED &&
            l.address.toLowerCase() === USDC_ADDRESS.toLowerCase(),
        );
        let key: string | undefined = used?.topics[2]?.toLowerCase();
        if (!key && receipt.to?.toLowerCase() === UPTO_PROXY_ADDRESS.toLowerCase()) {
          const tx = await reader.getTransaction({ hash });
          try {
            const call = decodeFunctionData({ abi: proxyAbi, data: tx.input });
            const permit = (call.args?.[call.functionName === "settle" ? 0 : 1] ?? {}) as {
              nonce?: bigint;
            };
            if (permit.nonce !== undefined) key = `permit2:${permit.nonce.toString()}`;
          } catch {
            key = undefined;
          }
        }
        out.push({ transaction: hash.toLowerCase(), value: log.args.value ?? 0n, key });
      }
      return out;
    },
  };
}

/** The chain calls of the model test. */
export type ModelChain = ReturnType<typeof modelChain>;
