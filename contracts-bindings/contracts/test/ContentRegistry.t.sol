// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./utils/Fixture.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Terms} from "../src/Terms.sol";
import {ContentRegistry} from "../src/ContentRegistry.sol";
import {RoyaltyShares} from "../src/RoyaltyShares.sol";

contract ContentRegistryTest is Fixture {
    uint256 constant ID = uint256(keccak256("song.ddrm"));

    function test_register_stores_record_and_mints_split() public {
        register(ID, address(0), defaultTerms());
        ContentRegistry.Content memory c = registry.content(ID);
        assertEq(c.creator, creator, "creator");
        assertEq(c.keyCommitment, KEY_COMMITMENT, "commitment");
        assertEq(registry.keyCommitment(ID), KEY_COMMITMENT, "keyCommitment view");
        assertEq(bytes(registry.cidOf(ID)).length, 17, "cid");
        assertEq(registry.termsOf(ID).price, 1 ether, "price");
        assertEq(shares.balanceOf(creator, ID), 8_000, "creator shares");
        assertEq(shares.balanceOf(producer, ID), 2_000, "producer shares");
        assertEq(shares.totalSupply(ID), 10_000, "supply");
        assertEq(shares.dustRecipientOf(ID), creator, "dust recipient");
        assertTrue(registry.isRendererAllowed(ID, CAPSULE), "capsule allowed");
        assertFalse(registry.isRendererAllowed(ID, keyCommitmentOther()), "other capsule");
        assertEq(registry.renderersOf(ID).length, 1, "renderers");
    }

    function keyCommitmentOther() private pure returns (bytes32) {
        return keccak256("other capsule");
    }

    function test_register_twice_fails() public {
        register(ID, address(0), defaultTerms());
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.AlreadyRegistered.selector, ID));
        register(ID, address(0), defaultTerms());
    }

    function test_split_must_sum_to_10000() public {
        address[] memory holders = new address[](2);
        holders[0] = creator;
        holders[1] = producer;
        uint16[] memory amounts = new uint16[](2);
        amounts[0] = 8_000;
        amounts[1] = 1_999;
        vm.expectRevert(RoyaltyShares.BadSplit.selector);
        registerSplit(ID, holders, amounts);
        amounts[1] = 2_001;
        vm.expectRevert(RoyaltyShares.BadSplit.selector);
        registerSplit(ID, holders, amounts);
        amounts[1] = 2_000;
        holders[1] = address(0);
        vm.expectRevert(RoyaltyShares.BadSplit.selector);
        registerSplit(ID, holders, amounts);
    }

    function test_bad_registrations_fail() public {
        ContentRegistry.Registration memory r = registration(0, address(0), defaultTerms());
        address[] memory holders = new address[](1);
        holders[0] = creator;
        uint16[] memory amounts = new uint16[](1);
        amounts[0] = 10_000;
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.BadRegistration.selector, "zero content id"));
        registry.register(r, holders, amounts);
        r = registration(ID, address(0), defaultTerms());
        r.keyCommitment = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.BadRegistration.selector, "zero key commitment"));
        registry.register(r, holders, amounts);
        r = registration(ID, address(0), defaultTerms());
        r.cid = "";
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.BadRegistration.selector, "empty cid"));
        registry.register(r, holders, amounts);
        r = registration(ID, address(0xdead), defaultTerms());
        vm.expectRevert(
            abi.encodeWithSelector(ContentRegistry.BadRegistration.selector, "payment token is not a contract")
        );
        registry.register(r, holders, amounts);
    }

    function test_terms_validation() public {
        Terms memory t = defaultTerms();
        t.rentPrice = 0; // period still set
        vm.expectRevert(
            abi.encodeWithSelector(ContentRegistry.BadTerms.selector, "rent price and period must both be set")
        );
        register(ID, address(0), t);
        t = defaultTerms();
        t.subscriptionPeriod = 0;
        vm.expectRevert(
            abi.encodeWithSelector(ContentRegistry.BadTerms.selector, "subscription price and period must both be set")
        );
        register(ID, address(0), t);
        t = defaultTerms();
        t.resaleRoyaltyBps = 5_001;
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.BadTerms.selector, "resale royalty above 50%"));
        register(ID, address(0), t);
        t = defaultTerms();
        t.price = 0;
        t.maxEditions = 5;
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.BadTerms.selector, "edition cap without a price"));
        register(ID, address(0), t);
    }

    function test_only_creator_changes_terms_and_renderers() public {
        register(ID, address(0), defaultTerms());
        Terms memory t = defaultTerms();
        t.price = 2 ether;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.NotCreator.selector, alice));
        registry.setTerms(ID, t);
        vm.prank(creator);
        registry.setTerms(ID, t);
        assertEq(registry.termsOf(ID).price, 2 ether, "new price");

        bytes32 other = keccak256("capsule v2");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.NotCreator.selector, alice));
        registry.allowRenderer(ID, other);
        vm.prank(creator);
        registry.allowRenderer(ID, other);
        assertFalse(registry.isRendererAllowed(ID, other), "allowed but not a registered capsule");
        vm.prank(gov);
        capsules.registerCapsule(other, 2);
        assertTrue(registry.isRendererAllowed(ID, other), "registered and allowed");
        vm.prank(creator);
        registry.disallowRenderer(ID, other);
        assertFalse(registry.isRendererAllowed(ID, other), "disallowed");
        assertEq(registry.renderersOf(ID).length, 1, "one renderer left");
    }

    function test_revoked_capsule_is_not_allowed() public {
        register(ID, address(0), defaultTerms());
        vm.prank(gov);
        capsules.revokeCapsule(CAPSULE);
        assertFalse(registry.isRendererAllowed(ID, CAPSULE), "revoked");
    }

    function test_unknown_content_views_revert() public {
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.UnknownContent.selector, ID));
        registry.keyCommitment(ID);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.UnknownContent.selector, ID));
        registry.saleInfo(ID);
        assertFalse(registry.isRegistered(ID), "not registered");
    }

    function test_access_is_wired_once_by_the_owner() public {
        assertEq(registry.access(), address(access), "wired by the fixture");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        registry.setAccess(alice);
        vm.prank(gov);
        vm.expectRevert(ContentRegistry.AccessAlreadySet.selector);
        registry.setAccess(alice);
        ContentRegistry r2 = new ContentRegistry(gov, capsules, shares);
        vm.prank(gov);
        vm.expectRevert(ContentRegistry.ZeroAddress.selector);
        r2.setAccess(address(0));
    }

    function test_only_registry_mints_shares() public {
        address[] memory holders = new address[](1);
        holders[0] = alice;
        uint16[] memory amounts = new uint16[](1);
        amounts[0] = 10_000;
        vm.expectRevert(RoyaltyShares.OnlyRegistry.selector);
        shares.mintInitial(ID, address(0), alice, holders, amounts);
    }
}
