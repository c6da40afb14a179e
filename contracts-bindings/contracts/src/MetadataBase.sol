// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// The owner-settable base of an ERC-1155 contract's metadata URI. `uri(id)` is the base followed
/// by a per-collection path ending in the literal `{id}`, which ERC-1155 clients replace with the
/// token id as 64 lowercase hex digits (so `https://m.example/v1/metadata/` gives
/// `https://m.example/v1/metadata/access/{id}`). A market service serves the JSON there.
///
/// While no base is set, `uri` returns the empty string: a token without metadata, which wallets
/// show as such, rather than a URI nothing can resolve. A base change moves every id's URI at
/// once, so it emits `MetadataBaseSet` and not ERC-1155's per-id `URI` event: the standard asks
/// for `URI` only where a change can be expressed per id, and one event per existing id would be
/// unbounded. Clients that cache metadata re-read `uri` after `MetadataBaseSet`.
abstract contract MetadataBase is Ownable2Step {
    string private _metadataBase;

    event MetadataBaseSet(string base);

    /// Sets the base every token's metadata URI starts with (empty: no metadata).
    function setMetadataBase(string calldata base) external onlyOwner {
        _metadataBase = base;
        emit MetadataBaseSet(base);
    }

    function metadataBase() external view returns (string memory) {
        return _metadataBase;
    }

    /// `base ‖ path`, or "" while no base is set.
    function _metadataUri(string memory path) internal view returns (string memory) {
        if (bytes(_metadataBase).length == 0) return "";
        return string.concat(_metadataBase, path);
    }
}
