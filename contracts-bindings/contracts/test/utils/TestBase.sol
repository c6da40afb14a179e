// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// The forge cheatcodes these tests use.
interface Cheats {
    function warp(uint256) external;
    function prank(address) external;
    function startPrank(address) external;
    function stopPrank() external;
    function deal(address, uint256) external;
    function expectRevert(bytes calldata) external;
    function expectRevert(bytes4) external;
    function expectRevert() external;
    function assume(bool) external;
    function label(address, string calldata) external;
    function addr(uint256) external returns (address);
    function expectEmit(address) external;
    function record() external;
    function accesses(address) external returns (bytes32[] memory reads, bytes32[] memory writes);
    function load(address, bytes32) external view returns (bytes32);
    function snapshotState() external returns (uint256);
    function revertToState(uint256) external returns (bool);
}

/// Minimal test base: the cheatcode handle, assertions that revert with both values, `bound`.
/// (The npm `forge-std` package is a stale 1.1.2 that needs `ds-test`, so the tests carry their own.)
abstract contract TestBase {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", Strings.toString(a), " != ", Strings.toString(b)));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", Strings.toHexString(a), " != ", Strings.toHexString(b)));
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": bytes32 differ"));
    }

    function assertEq(string memory a, string memory b, string memory what) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) {
            revert(string.concat(what, ": \"", a, "\" != \"", b, "\""));
        }
    }

    function assertTrue(bool ok, string memory what) internal pure {
        if (!ok) revert(string.concat(what, ": expected true"));
    }

    function assertFalse(bool ok, string memory what) internal pure {
        if (ok) revert(string.concat(what, ": expected false"));
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        return lo + x % (hi - lo + 1);
    }
}
