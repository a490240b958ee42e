/**
 * Maintainer step: builds the committed contract artifacts dev/contracts/Permit2.json and
 * dev/contracts/X402UptoPermit2Proxy.json, which the local stack places on anvil (dev/permit2.ts).
 * The stack and the tests only read those files; run this again only to change them.
 *
 *   node scripts/build-contracts.ts
 *
 * Uses the network once, through npm only: `npm pack` fetches, into a temporary directory,
 * - `@uniswap/v4-periphery@1.0.3`, which ships Uniswap's Permit2 source under lib/permit2/src
 *   (with solmate under lib/permit2/lib/solmate), and
 * - `solc@0.8.17`, the compiler Permit2 pins (`pragma solidity 0.8.17;`), whose soljson.js runs
 *   under the solc-js wrapper of the installed `solc` devDependency.
 * Both tarballs must have the integrity pinned below. Permit2 is compiled with the settings of
 * its own foundry.toml (via IR, 1,000,000 optimizer runs, no metadata hash); our proxy
 * (dev/contracts/X402UptoPermit2Proxy.sol) with the installed solc 0.8.37.
 *
 * Checks before writing: the proxy's ABI equals `x402UptoPermit2ProxyABI` from `@x402/evm`; the
 * witness type it hands Permit2 completes Permit2's type stub to exactly the EIP-712 type the
 * official client signs (`uptoPermit2WitnessTypes`); and, on a throwaway anvil, code deployed
 * with CREATE equals the artifact's runtime code with its immutables filled in by
 * dev/permit2.ts (the way the stack places it at the canonical addresses).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { uptoPermit2WitnessTypes, x402UptoPermit2ProxyABI } from "@x402/evm";
import * as prettier from "prettier";
import {
  createWalletClient,
  getAddress,
  http,
  keccak256,
  pad,
  publicActions,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEPLOYER, freePort, localChain, startChain } from "../dev/chain.ts";
import {
  PERMIT2_ADDRESS,
  fillImmutables,
  permit2DomainSeparator,
  type ContractArtifact,
} from "../dev/permit2.ts";

/** A package fetched with `npm pack`, pinned by version and tarball integrity. */
interface PinnedPackage {
  name: string;
  version: string;
  integrity: string;
}

const PERMIT2_PACKAGE: PinnedPackage = {
  name: "@uniswap/v4-periphery",
  version: "1.0.3",
  integrity:
    "sha512-JxLL0Djv9XcMvI2PatEnWrCrxuEaYNVhHxstndBOP+aJfh1XLg5ec8SDZ0xyoVfg2ElJTvuKpBgnu90bNValsg==",
};
const PERMIT2_COMPILER: PinnedPackage = {
  name: "solc",
  version: "0.8.17",
  integrity:
    "sha512-Dtidk2XtTTmkB3IKdyeg6wLYopJnBVxdoykN8oP8VY3PQjN16BScYoUJTXFm2OP7P0hXNAqWiJNmmfuELtLf8g==",
};
/** Permit2's project root inside the v4-periphery package. */
const PERMIT2_ROOT = "lib/permit2";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT_DIR = join(ROOT, "dev/contracts");
const PROXY_SOURCE = "dev/contracts/X402UptoPermit2Proxy.sol";
const require = createRequire(import.meta.url);

/** Standard-JSON compiler input settings (without outputSelection). */
type Settings = Record<string, unknown>;

/** The part of a solc-js compiler this script uses. */
interface Solc {
  version(): string;
  compile(input: string, callbacks?: { import(path: string): unknown }): string;
}

type SolcWrapper = (soljson: unknown) => Solc;

const log = (line: string) => console.log(`  ${line}`);

/** `npm pack`s `pkg` into `dir`, checks its integrity, unpacks `members`; returns pack facts. */
function fetchPackage(
  pkg: PinnedPackage,
  dir: string,
  members: string[],
): { root: string; tarball: string; integrity: string; shasum: string } {
  const spec = `${pkg.name}@${pkg.version}`;
  const packed = spawnSync("npm", ["pack", spec, "--json", "--pack-destination", dir], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (packed.status !== 0) throw new Error(`npm pack ${spec} failed:\n${packed.stderr}`);
  const [facts] = JSON.parse(packed.stdout) as Array<{
    filename: string;
    integrity: string;
    shasum: string;
  }>;
  if (!facts) throw new Error(`npm pack ${spec} printed no result`);
  if (facts.integrity !== pkg.integrity) {
    throw new Error(`${spec}: integrity ${facts.integrity}, pinned ${pkg.integrity}`);
  }
  const root = join(dir, pkg.name.replace(/[@/]/g, "_"));
  mkdirSync(root);
  const untar = spawnSync(
    "tar",
    ["-xzf", join(dir, facts.filename), "-C", root, ...members.map((m) => `package/${m}`)],
    { encoding: "utf8" },
  );
  if (untar.status !== 0) throw new Error(`unpacking ${spec} failed:\n${untar.stderr}`);
  return {
    root: join(root, "package"),
    tarball: `https://registry.npmjs.org/${pkg.name}/-/${pkg.name.split("/").pop()}-${pkg.version}.tgz`,
    integrity: facts.integrity,
    shasum: facts.shasum,
  };
}

const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

/** Solidity compiler output for one contract (the fields requested). */
interface CompiledContract {
  abi: Abi;
  evm: {
    bytecode: { object: string };
    deployedBytecode: {
      object: string;
      immutableReferences?: Record<string, Array<{ start: number; length: number }>>;
    };
  };
}

/**
 * Compiles `entry` (a source unit name under `baseDir`, imports resolved through `remappings`
 * and read from `baseDir`) and returns `contract`, its immutables by name, and every source read.
 */
function compile(
  solc: Solc,
  baseDir: string,
  entry: string,
  contract: string,
  settings: Settings,
): {
  compiled: CompiledContract;
  immutables: Record<string, Array<{ start: number; length: number }>>;
  sources: Record<string, string>;
} {
  const input = {
    language: "Solidity",
    sources: { [entry]: { content: readFileSync(join(baseDir, entry), "utf8") } },
    settings: {
      ...settings,
      outputSelection: {
        "*": {
          "": ["ast"],
          "*": [
            "abi",
            "evm.bytecode.object",
            "evm.deployedBytecode.object",
            "evm.deployedBytecode.immutableReferences",
          ],
        },
      },
    },
  };
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), {
      import(path: string) {
        try {
          return { contents: readFileSync(join(baseDir, posix.normalize(path)), "utf8") };
        } catch (error) {
          return { error: String(error) };
        }
      },
    }),
  ) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    sources: Record<string, { ast: unknown }>;
    contracts: Record<string, Record<string, CompiledContract>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(`${entry}: ${errors.map((e) => e.formattedMessage).join("\n")}`);
  }
  const compiled = output.contracts[entry]?.[contract];
  if (!compiled) throw new Error(`${entry}: no contract ${contract} in the output`);

  // Immutable references are keyed by AST id: name them from the declarations in the ASTs.
  const names = new Map<number, string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== "object" || node === null) return;
    const n = node as Record<string, unknown>;
    if (n["nodeType"] === "VariableDeclaration" && typeof n["id"] === "number") {
      names.set(n["id"], String(n["name"]));
    }
    Object.values(n).forEach(visit);
  };
  Object.values(output.sources).forEach((s) => visit(s.ast));
  const immutables: Record<string, Array<{ start: number; length: number }>> = {};
  for (const [id, ranges] of Object.entries(
    compiled.evm.deployedBytecode.immutableReferences ?? {},
  )) {
    const name = names.get(Number(id));
    if (!name) throw new Error(`${entry}: immutable with AST id ${id} has no declaration`);
    immutables[name] = ranges;
  }
  const sources = Object.fromEntries(
    Object.keys(output.sources)
      .sort()
      .map((path) => [path, sha256(readFileSync(join(baseDir, path)))]),
  );
  return { compiled, immutables, sources };
}

/** EIP-712 `encodeType`: the primary type, then the types it references in alphabetical order. */
function encodeType(
  primary: string,
  types: Record<string, ReadonlyArray<{ name: string; type: string }>>,
): string {
  const found = new Set<string>();
  const collect = (name: string) => {
    for (const field of types[name] ?? []) {
      const base = field.type.replace(/\[\d*\]$/, "");
      if (types[base] && base !== primary && !found.has(base)) {
        found.add(base);
        collect(base);
      }
    }
  };
  collect(primary);
  return [primary, ...[...found].sort()]
    .map((t) => `${t}(${(types[t] ?? []).map((f) => `${f.type} ${f.name}`).join(",")})`)
    .join("");
}

/** An ABI as a sorted list of canonical JSON strings (for an order-free comparison). */
function canonicalAbi(abi: readonly unknown[]): string[] {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  };
  return abi.map((entry) => JSON.stringify(sortKeys(entry))).sort();
}

/** The PUSH32 operands of `code` (hex without 0x), by byte offset. */
function push32Operands(code: string): Map<number, string> {
  const bytes = Buffer.from(code, "hex");
  const found = new Map<number, string>();
  for (let i = 0; i < bytes.length; i++) {
    const op = bytes[i] ?? 0;
    if (op >= 0x60 && op <= 0x7f) {
      const size = op - 0x5f;
      if (size === 32) found.set(i + 1, bytes.subarray(i + 1, i + 33).toString("hex"));
      i += size;
    }
  }
  return found;
}

/** Writes `artifact` as prettier-formatted JSON (so `prettier --check` passes). */
async function writeArtifact(file: string, artifact: ContractArtifact): Promise<void> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  const text = await prettier.format(JSON.stringify(artifact), { ...options, filepath: file });
  writeFileSync(file, text);
  log(`wrote ${posix.relative(ROOT, file)} (${text.length} bytes)`);
}

async function main(): Promise<void> {
  const temp = mkdtempSync(join(tmpdir(), "x402-contracts-"));
  try {
    log(`fetching ${PERMIT2_PACKAGE.name}@${PERMIT2_PACKAGE.version} with npm pack …`);
    const periphery = fetchPackage(PERMIT2_PACKAGE, temp, [
      `${PERMIT2_ROOT}/src`,
      `${PERMIT2_ROOT}/lib/solmate/src`,
      `${PERMIT2_ROOT}/foundry.toml`,
      `${PERMIT2_ROOT}/LICENSE`,
      `${PERMIT2_ROOT}/test/utils/DeployPermit2.sol`,
    ]);
    log(`fetching ${PERMIT2_COMPILER.name}@${PERMIT2_COMPILER.version} with npm pack …`);
    const oldSolc = fetchPackage(PERMIT2_COMPILER, temp, ["soljson.js"]);
    const wrapper = require("solc/wrapper.js") as SolcWrapper;
    const solc17 = wrapper(require(join(oldSolc.root, "soljson.js")));
    const solc37 = require("solc") as Solc;

    const permit2Dir = join(periphery.root, PERMIT2_ROOT);
    const foundry = readFileSync(join(permit2Dir, "foundry.toml"), "utf8");
    for (const line of [
      'solc = "0.8.17"',
      'bytecode_hash = "none"',
      "optimizer = true",
      "via_ir = true",
      "optimizer_runs = 1000000",
    ]) {
      if (!foundry.includes(line)) throw new Error(`permit2 foundry.toml no longer says ${line}`);
    }
    const permit2Settings: Settings = {
      remappings: ["solmate/=lib/solmate/"],
      optimizer: { enabled: true, runs: 1_000_000 },
      viaIR: true,
      // solc 0.8.17's default, as when Permit2 was built (foundry.toml names none).
      evmVersion: "london",
      metadata: { bytecodeHash: "none" },
    };
    log(`compiling Permit2 with solc ${solc17.version()} (via IR; about 20 s) …`);
    const permit2 = compile(solc17, permit2Dir, "src/Permit2.sol", "Permit2", permit2Settings);

    const proxySettings: Settings = {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      metadata: { bytecodeHash: "none" },
    };
    log(`compiling ${PROXY_SOURCE} with solc ${solc37.version()} …`);
    const proxy = compile(solc37, ROOT, PROXY_SOURCE, "x402UptoPermit2Proxy", proxySettings);

    // The proxy implements exactly the ABI the official facilitator calls (which leaves out the
    // constructor: upstream deploys with CREATE2, we place runtime code).
    const ours = canonicalAbi(proxy.compiled.abi.filter((entry) => entry.type !== "constructor"));
    const theirs = canonicalAbi(x402UptoPermit2ProxyABI);
    if (ours.join("\n") !== theirs.join("\n")) {
      const missing = theirs.filter((e) => !ours.includes(e));
      const extra = ours.filter((e) => !theirs.includes(e));
      throw new Error(
        `proxy ABI differs from @x402/evm's x402UptoPermit2ProxyABI:\nmissing ${missing.join("\n")}\nextra ${extra.join("\n")}`,
      );
    }

    // Permit2 hashes STUB + witnessTypeString as the permit's type: it must be the client's type.
    const permitHash = readFileSync(join(permit2Dir, "src/libraries/PermitHash.sol"), "utf8");
    const stub = /_PERMIT_TRANSFER_FROM_WITNESS_TYPEHASH_STUB\s*=\s*"([^"]+)"/.exec(
      permitHash,
    )?.[1];
    if (!stub) throw new Error("Permit2's witness type stub not found in PermitHash.sol");
    const signedType = encodeType("PermitWitnessTransferFrom", uptoPermit2WitnessTypes);
    const witnessType = encodeType("Witness", uptoPermit2WitnessTypes);

    const permit2Artifact: ContractArtifact = {
      contractName: "Permit2",
      abi: permit2.compiled.abi,
      bytecode: `0x${permit2.compiled.evm.bytecode.object}`,
      deployedBytecode: `0x${permit2.compiled.evm.deployedBytecode.object}`,
      immutableReferences: permit2.immutables,
      compiler: {
        package: `${PERMIT2_COMPILER.name}@${PERMIT2_COMPILER.version}`,
        version: solc17.version(),
        integrity: oldSolc.integrity,
      },
      settings: permit2Settings,
      source: {
        package: PERMIT2_PACKAGE.name,
        version: PERMIT2_PACKAGE.version,
        tarball: periphery.tarball,
        integrity: periphery.integrity,
        shasum: periphery.shasum,
        root: PERMIT2_ROOT,
        entry: "src/Permit2.sol:Permit2",
        license: "MIT",
        sha256: permit2.sources,
      },
      checks: {},
    };
    const proxyArtifact: ContractArtifact = {
      contractName: "x402UptoPermit2Proxy",
      abi: proxy.compiled.abi,
      bytecode: `0x${proxy.compiled.evm.bytecode.object}`,
      deployedBytecode: `0x${proxy.compiled.evm.deployedBytecode.object}`,
      immutableReferences: proxy.immutables,
      compiler: {
        package: `solc@${readPackageVersion("solc")}`,
        version: solc37.version(),
        integrity: readLockIntegrity("node_modules/solc"),
      },
      settings: proxySettings,
      source: {
        path: PROXY_SOURCE,
        sha256: sha256(readFileSync(join(ROOT, PROXY_SOURCE))),
        implements: `@x402/evm@${readPackageVersion("@x402/evm")} x402UptoPermit2ProxyABI`,
      },
      checks: {},
    };

    log("checking on a throwaway anvil: CREATE deployments equal the filled-in runtime code …");
    const chain = await startChain({ port: await freePort() });
    try {
      const facts = await checkOnChain(chain.rpcUrl, permit2Artifact, proxyArtifact);
      if (stub + facts.witnessTypeString !== signedType) {
        throw new Error(
          `Permit2 would hash "${stub}${facts.witnessTypeString}", the client signs "${signedType}"`,
        );
      }
      if (facts.witnessTypehash !== keccak256(toHex(witnessType))) {
        throw new Error(
          `WITNESS_TYPEHASH ${facts.witnessTypehash} is not keccak256("${witnessType}")`,
        );
      }
      permit2Artifact.checks = {
        createMatchesFilledImmutables: facts.permit2,
        precompiledRuntime: comparePrecompiled(permit2Dir, permit2Artifact),
      };
      proxyArtifact.checks = {
        abiEquals: `@x402/evm@${readPackageVersion("@x402/evm")} x402UptoPermit2ProxyABI`,
        permit2SignedType: signedType,
        witnessTypeString: facts.witnessTypeString,
        witnessTypehash: facts.witnessTypehash,
        createMatchesFilledImmutables: facts.proxy,
      };
    } finally {
      await chain.stop();
    }

    await writeArtifact(join(OUT_DIR, "Permit2.json"), permit2Artifact);
    await writeArtifact(join(OUT_DIR, "X402UptoPermit2Proxy.json"), proxyArtifact);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * Deploys both contracts with CREATE on the anvil at `rpcUrl` and checks that the code left
 * behind equals the artifacts' runtime code with immutables filled in for that address and chain.
 */
async function checkOnChain(
  rpcUrl: string,
  permit2: ContractArtifact,
  proxy: ContractArtifact,
): Promise<{
  permit2: { chainId: number; address: Address };
  proxy: { chainId: number; address: Address };
  witnessTypeString: string;
  witnessTypehash: Hex;
}> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(DEPLOYER.privateKey),
    chain: localChain(rpcUrl),
    transport: http(rpcUrl, { retryCount: 0 }),
    pollingInterval: 50,
  }).extend(publicActions);
  const chainId = await wallet.getChainId();
  const deploy = async (artifact: ContractArtifact, args: readonly unknown[]): Promise<Address> => {
    const hash = await wallet.deployContract({
      abi: artifact.abi,
      bytecode: artifact.bytecode,
      args,
    });
    const receipt = await wallet.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) {
      throw new Error(`${artifact.contractName}: deployment failed`);
    }
    return getAddress(receipt.contractAddress);
  };
  const same = async (address: Address, expected: Hex, what: string) => {
    const code = await wallet.getCode({ address });
    if (code?.toLowerCase() !== expected.toLowerCase()) {
      throw new Error(`${what}: CREATE left code that differs from the filled-in runtime code`);
    }
  };

  const permit2Address = await deploy(permit2, []);
  await same(
    permit2Address,
    fillImmutables(permit2, {
      _CACHED_CHAIN_ID: pad(toHex(chainId)),
      _CACHED_DOMAIN_SEPARATOR: permit2DomainSeparator(chainId, permit2Address),
    }),
    "Permit2",
  );
  const proxyAddress = await deploy(proxy, [PERMIT2_ADDRESS]);
  await same(proxyAddress, fillImmutables(proxy, { PERMIT2: pad(PERMIT2_ADDRESS) }), "proxy");
  const read = (functionName: string) =>
    wallet.readContract({ address: proxyAddress, abi: proxy.abi, functionName });
  return {
    permit2: { chainId, address: permit2Address },
    proxy: { chainId, address: proxyAddress },
    witnessTypeString: String(await read("WITNESS_TYPE_STRING")),
    witnessTypehash: (await read("WITNESS_TYPEHASH")) as Hex,
  };
}

/**
 * Compares our Permit2 runtime with the precompiled one Permit2 ships for tests
 * (test/utils/DeployPermit2.sol, etched at the canonical address there): same size, and the
 * same 32-byte constants apart from the two immutables. The bytes are not identical: that code
 * comes from another compile job (foundry compiles tests and scripts in the same job, which
 * changes AST ids and with them the via-IR code layout).
 */
function comparePrecompiled(
  permit2Dir: string,
  artifact: ContractArtifact,
): Record<string, unknown> {
  const file = "test/utils/DeployPermit2.sol";
  const text = readFileSync(join(permit2Dir, file), "utf8");
  const theirs = /hex"([0-9a-fA-F]+)"/.exec(text)?.[1]?.toLowerCase();
  if (!theirs) throw new Error(`${file}: no precompiled bytecode found`);
  const ours = artifact.deployedBytecode.slice(2).toLowerCase();
  const ourImmutables = new Set(
    Object.values(artifact.immutableReferences).flatMap((ranges) => ranges.map((r) => r.start)),
  );
  const ourConstants = [...push32Operands(ours)]
    .filter(([at]) => !ourImmutables.has(at))
    .map(([, value]) => value);
  const theirConstants = [...push32Operands(theirs).values()];
  const onlyTheirs = theirConstants.filter((v) => !ourConstants.includes(v));
  const onlyOurs = ourConstants.filter((v) => !theirConstants.includes(v));
  const sameSize = ours.length === theirs.length;
  if (!sameSize || onlyOurs.length > 0 || onlyTheirs.length > 2) {
    throw new Error(`Permit2 runtime does not resemble ${file}'s precompiled runtime`);
  }
  return {
    file: `${PERMIT2_ROOT}/${file}`,
    sameSizeBytes: ours.length / 2,
    identicalBytes: ours === theirs,
    push32ConstantsEqualExceptImmutables: true,
  };
}

function readPackageVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8"));
  return String((pkg as { version: unknown }).version);
}

function readLockIntegrity(path: string): string {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { integrity?: string }>;
  };
  const integrity = lock.packages[path]?.integrity;
  if (!integrity) throw new Error(`package-lock.json has no integrity for ${path}`);
  return integrity;
}

const started = Date.now();
await main().catch((error: unknown) => {
  console.error(
    `\nbuild-contracts failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
