import { evm } from "./evm";
import { exactEvm } from "./exact-evm";
import { exactSvm } from "./exact-svm";
import { solana } from "./solana";
import type { ChainFamily, NetworkInfo, SchemeModule } from "./types";
import { uptoEvm } from "./upto-evm";

/**
 * The one place chains and payment schemes are registered. A new chain family is a
 * `ChainFamily` (address syntax, known networks and their USDC); a new scheme is a
 * `SchemeModule` (what its payload must say, who pays, what makes it unique) on a family. The
 * price table, the 402, payment checks, the at-most-once lock and facilitator routing all read
 * them from here.
 */

const FAMILIES: readonly ChainFamily[] = [evm, solana];
const SCHEMES: readonly SchemeModule[] = [exactEvm, uptoEvm, exactSvm];

/** The family of a CAIP-2 network (by its namespace), or undefined when none is registered. */
export function familyOf(network: string): ChainFamily | undefined {
  const namespace = network.slice(0, network.indexOf(":"));
  return FAMILIES.find((family) => family.namespace === namespace);
}

/** The scheme module for `scheme` on `network`'s family, or undefined. */
export function schemeFor(scheme: string, network: string): SchemeModule | undefined {
  const namespace = network.slice(0, network.indexOf(":"));
  return SCHEMES.find((s) => s.scheme === scheme && s.namespace === namespace);
}

/** A network the paywall knows a USDC on, or undefined. */
export function networkInfo(network: string): NetworkInfo | undefined {
  return familyOf(network)?.networks[network];
}

/** Every network with a known USDC, for error messages and docs. */
export function knownNetworks(): string[] {
  return FAMILIES.flatMap((family) => Object.keys(family.networks));
}

/** The `extra` keys of an offer that only its facilitator can give. */
export function facilitatorExtraKeys(scheme: string, network: string): readonly string[] {
  return schemeFor(scheme, network)?.facilitatorExtra ?? [];
}
