import { checksumAddress } from "./eth";

/**
 * The EIP-4361 ("Sign-In with Ethereum") message an EVM wallet signs for sign-in-with-x, built
 * from the proof's fields exactly as the x402 clients build it (a unit test checks it against
 * `createSIWxMessage` of `@x402/extensions`). A small formatter instead of that package's SIWE
 * library keeps a 460 KB grammar parser and Solana crypto out of the Worker.
 */

/** The signed fields of a SIWE message. */
export interface SiweFields {
  domain: string;
  address: string;
  statement?: string | undefined;
  uri: string;
  version: string;
  chainId: number;
  nonce: string;
  issuedAt: string;
  expirationTime?: string | undefined;
  notBefore?: string | undefined;
  requestId?: string | undefined;
  resources?: string[] | undefined;
}

/** The message text; the address is EIP-55 checksummed as signers do. Throws on a bad address. */
export function siweMessage(fields: SiweFields): string {
  const head = `${fields.domain} wants you to sign in with your Ethereum account:\n${checksumAddress(fields.address)}`;
  const lines = [
    `URI: ${fields.uri}`,
    `Version: ${fields.version}`,
    `Chain ID: ${fields.chainId}`,
    `Nonce: ${fields.nonce}`,
    `Issued At: ${fields.issuedAt}`,
  ];
  if (fields.expirationTime) lines.push(`Expiration Time: ${fields.expirationTime}`);
  if (fields.notBefore) lines.push(`Not Before: ${fields.notBefore}`);
  if (fields.requestId !== undefined) lines.push(`Request ID: ${fields.requestId}`);
  if (fields.resources)
    lines.push(["Resources:", ...fields.resources.map((r) => `- ${r}`)].join("\n"));
  const intro = fields.statement === undefined ? `${head}\n\n` : `${head}\n\n${fields.statement}\n`;
  return `${intro}\n${lines.join("\n")}`;
}
