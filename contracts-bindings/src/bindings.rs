//! alloy bindings generated at compile time from the committed forge artifacts in `artifacts/`
//! (ABI and bytecode). `artifacts/sources.sha256` records the Solidity sources they were built
//! from; [`artifacts_are_fresh`] compares it with `contracts/src`, and `scripts/artifacts.sh`
//! regenerates both.

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc, all_derives)]
    CapsuleRegistry,
    "artifacts/CapsuleRegistry.json"
);
sol!(
    #[sol(rpc, all_derives)]
    LicenceNetworkRegistry,
    "artifacts/LicenceNetworkRegistry.json"
);
sol!(
    #[sol(rpc, all_derives)]
    RoyaltyShares,
    "artifacts/RoyaltyShares.json"
);
sol!(
    #[sol(rpc, all_derives)]
    ContentRegistry,
    "artifacts/ContentRegistry.json"
);
sol!(
    #[sol(rpc, all_derives)]
    Access,
    "artifacts/Access.json"
);
sol!(
    #[sol(rpc, all_derives)]
    Market,
    "artifacts/Market.json"
);
sol!(
    #[sol(rpc, all_derives)]
    TestToken,
    "artifacts/TestToken.json"
);

sol!(
    /// The ERC-1155 surface both token contracts (`Access`, `RoyaltyShares`) share: for code
    /// that handles either collection through one type (the market's balance and approval
    /// checks). Standard, so declared here rather than built from an artifact.
    #[sol(rpc)]
    interface IERC1155 {
        function balanceOf(address account, uint256 id) external view returns (uint256);
        function isApprovedForAll(address account, address operator) external view returns (bool);
        function setApprovalForAll(address operator, bool approved) external;
    }
);

/// The command that rebuilds the contracts and refreshes `artifacts/`.
pub const REGENERATE: &str = "contracts-bindings/scripts/artifacts.sh";

/// SHA-256 over `contracts/src/*.sol` as `scripts/export-artifacts.mjs` computes it
/// (sorted file names, each as `name\n` followed by its bytes).
pub fn sources_digest(src_dir: &std::path::Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut names: Vec<String> = std::fs::read_dir(src_dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sol"))
        .collect();
    names.sort();
    let mut hash = Sha256::new();
    for name in names {
        hash.update(name.as_bytes());
        hash.update(b"\n");
        hash.update(std::fs::read(src_dir.join(&name))?);
    }
    Ok(hex::encode(hash.finalize()))
}

/// Whether the committed artifacts were built from the Solidity sources now in the tree.
/// `Err` names the command that regenerates them.
pub fn artifacts_are_fresh() -> Result<(), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let recorded = std::fs::read_to_string(root.join("artifacts/sources.sha256"))
        .map_err(|e| format!("artifacts/sources.sha256 unreadable ({e}); run {REGENERATE}"))?;
    let actual = sources_digest(&root.join("contracts/src"))
        .map_err(|e| format!("contracts/src unreadable ({e})"))?;
    if recorded.trim() == actual {
        Ok(())
    } else {
        Err(format!(
            "contract artifacts are stale (contracts/src changed since they were built); run {REGENERATE}"
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_artifacts_match_the_solidity_sources() {
        if let Err(why) = super::artifacts_are_fresh() {
            panic!("{why}");
        }
    }
}
