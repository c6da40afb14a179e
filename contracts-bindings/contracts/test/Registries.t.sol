// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./utils/Fixture.sol";
import {CapsuleRegistry} from "../src/CapsuleRegistry.sol";
import {LicenceNetworkRegistry} from "../src/LicenceNetworkRegistry.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract RegistriesTest is Fixture {
    function test_capsule_lifecycle() public {
        bytes32 m = keccak256("capsule 2");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CapsuleRegistry.NotPublisher.selector, alice));
        capsules.registerCapsule(m, 1);
        vm.prank(gov);
        capsules.setPublisher(alice, true);
        vm.prank(alice);
        capsules.registerCapsule(m, 7);
        CapsuleRegistry.Capsule memory c = capsules.capsule(m);
        assertEq(c.publisher, alice, "publisher");
        assertEq(c.version, 7, "version");
        assertTrue(capsules.isCapsuleActive(m), "active");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CapsuleRegistry.CapsuleExists.selector, m));
        capsules.registerCapsule(m, 8);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(CapsuleRegistry.NotAllowed.selector, bob));
        capsules.revokeCapsule(m);
        vm.prank(alice);
        capsules.revokeCapsule(m);
        assertFalse(capsules.isCapsuleActive(m), "revoked");
        vm.prank(gov);
        vm.expectRevert(CapsuleRegistry.AlreadyRevoked.selector);
        capsules.revokeCapsule(m);
    }

    function test_runtime_keys_approve_and_revoke_for_good() public {
        address key = address(0x5EC);
        assertFalse(capsules.isRuntimeApproved(key), "unknown");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        capsules.approveRuntime(key);
        vm.prank(gov);
        capsules.approveRuntime(key);
        assertTrue(capsules.isRuntimeApproved(key), "approved");
        vm.prank(gov);
        capsules.revokeRuntime(key);
        assertFalse(capsules.isRuntimeApproved(key), "revoked");
        vm.prank(gov);
        vm.expectRevert(abi.encodeWithSelector(CapsuleRegistry.RuntimeRevokedForever.selector, key));
        capsules.approveRuntime(key);
    }

    function test_licence_network_epochs() public {
        address[] memory ops = new address[](3);
        ops[0] = address(0x1);
        ops[1] = address(0x2);
        ops[2] = address(0x3);
        string[] memory urls = new string[](3);
        urls[0] = "http://127.0.0.1:7001";
        urls[1] = "http://127.0.0.1:7002";
        urls[2] = "http://127.0.0.1:7003";
        vm.prank(gov);
        vm.expectRevert(LicenceNetworkRegistry.BadNetwork.selector);
        network.startEpoch(hex"aa", 3, ops, urls); // t must be < n
        vm.prank(gov);
        network.startEpoch(hex"a1b2", 1, ops, urls);
        assertEq(network.epoch(), 1, "epoch");
        assertEq(network.threshold(), 1, "threshold");
        assertEq(network.nodeCount(), 3, "nodes");
        assertEq(keccak256(network.groupPublicKey()), keccak256(hex"a1b2"), "gpk");
        vm.prank(address(0x2));
        network.setEndpoint(1, "http://127.0.0.1:7102");
        (address op, string memory url) = network.node(1);
        assertEq(op, address(0x2), "operator");
        assertEq(keccak256(bytes(url)), keccak256("http://127.0.0.1:7102"), "endpoint");
        vm.prank(address(0x3));
        vm.expectRevert(abi.encodeWithSelector(LicenceNetworkRegistry.NotOperator.selector, address(0x3)));
        network.setEndpoint(1, "x");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        network.startEpoch(hex"a1b2", 1, ops, urls);
        vm.prank(gov);
        network.startEpoch(hex"c3", 0, ops, urls);
        assertEq(network.epoch(), 2, "second epoch");
        assertEq(network.nodes().length, 3, "node set replaced");
    }

    function test_two_step_ownership() public {
        vm.prank(gov);
        shares.transferOwnership(alice);
        assertEq(shares.owner(), gov, "still gov until accepted");
        vm.prank(alice);
        shares.acceptOwnership();
        assertEq(shares.owner(), alice, "alice owns");
    }
}
