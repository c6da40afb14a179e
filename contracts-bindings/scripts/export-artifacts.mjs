// Copies the ABI and bytecode of each deployable contract from forge's out/ into artifacts/ (the
// committed files the Rust bindings are generated from), with a SHA-256 over the Solidity sources
// they were built from. With --check, writes nothing and fails if anything differs.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const contracts = [
  ["contracts/src", "CapsuleRegistry"],
  ["contracts/src", "LicenceNetworkRegistry"],
  ["contracts/src", "RoyaltyShares"],
  ["contracts/src", "ContentRegistry"],
  ["contracts/src", "Access"],
  ["contracts/src", "Market"],
  ["contracts/src", "RoyaltyVault"],
  ["contracts/test/utils", "TestToken"],
];

function sourcesDigest() {
  const dir = join(root, "contracts/src");
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".sol")).sort()) {
    hash.update(name + "\n");
    hash.update(readFileSync(join(dir, name)));
  }
  return hash.digest("hex");
}

const wanted = new Map();
for (const [, name] of contracts) {
  const built = JSON.parse(readFileSync(join(root, "out", `${name}.sol`, `${name}.json`), "utf8"));
  const artifact = {
    contractName: name,
    abi: built.abi,
    bytecode: { object: built.bytecode.object },
    deployedBytecode: { object: built.deployedBytecode.object },
  };
  wanted.set(`${name}.json`, JSON.stringify(artifact, null, 1) + "\n");
}
wanted.set("sources.sha256", sourcesDigest() + "\n");

const dir = join(root, "artifacts");
const stale = [...wanted].filter(([file, text]) => {
  const path = join(dir, file);
  return !existsSync(path) || readFileSync(path, "utf8") !== text;
});
if (check) {
  if (stale.length) {
    console.error(`stale contract artifacts: ${stale.map(([f]) => f).join(", ")}`);
    console.error("regenerate with: contracts-bindings/scripts/artifacts.sh");
    process.exit(1);
  }
  console.log(`artifacts up to date (${wanted.size} files)`);
} else {
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of stale) writeFileSync(join(dir, file), text);
  console.log(`wrote ${stale.length} of ${wanted.size} artifact files`);
}
