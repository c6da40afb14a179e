// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./utils/Fixture.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Terms} from "../src/Terms.sol";
import {ContentRegistry} from "../src/ContentRegistry.sol";
import {RoyaltyShares} from "../src/RoyaltyShares.sol";

contract ContentRegistryTest is Fixture {
    uint256 internal ID;

    function setUp() public override {
        super.setUp();
        ID = newId(uint256(keccak256("song.ddrm")));
    }

    function test_register_stores_record_and_mints_split() public {
        register(ID, address(0), defaultTerms());
        ContentRegistry.Content memory c = registry.content(ID);
        assertEq(c.creator, creator, "creator");
        assertEq(c.keyCommitment, commitmentOf(ID), "commitment");
        assertEq(registry.keyCommitment(ID), commitmentOf(ID), "keyCommitment view");
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

    /// The content-id formula, pinned: the same inputs and expected id are in the Rust unit test
    /// `ops::tests::content_id_for_matches_the_registry` (the id was computed once by this
    /// contract). Also checks the byte layout: 18 ASCII bytes, 20-byte address, 32-byte digest.
    function test_content_id_test_vector() public view {
        address who = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;
        bytes32 digest = 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20;
        uint256 expected = 0x03bee9abc75227d3754773e555f80ef0e2d8ee045222feff4adf1dbfd424a125;
        assertEq(registry.contentIdFor(who, digest), expected, "registry formula");
        bytes memory preimage = bytes.concat(bytes18("ddrm/content-id/v2"), bytes20(who), digest);
        assertEq(preimage.length, 70, "preimage length");
        assertEq(uint256(sha256(preimage)), expected, "explicit byte layout");
        assertEq(contentIdOf(who, digest), expected, "fixture formula");
    }

    /// Finding 3 (a): a front-runner resending the creator's registration from another account is
    /// refused, and the creator's own registration then goes through.
    function test_front_runner_copying_the_calldata_cannot_register() public {
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.NotTheCreator.selector, ID));
        registerAlone(bob, registration(ID, address(0), defaultTerms()));
        register(ID, address(0), defaultTerms());
        assertEq(registry.creatorOf(ID), creator, "the creator registered it");
        assertEq(shares.balanceOf(bob, ID), 0, "no shares for the front-runner");
    }

    /// Finding 3 (b): whoever holds the file can only register it under an id derived from their
    /// own address, which is not the file's id; the file's id stays free for its creator.
    function test_holder_of_the_file_gets_only_an_id_of_their_own() public {
        uint256 squat = contentIdOf(bob, digestOf[ID]);
        assertTrue(squat != ID, "a different id");
        digestOf[squat] = digestOf[ID];
        ContentRegistry.Registration memory r = registration(squat, address(0), defaultTerms());
        r.keyCommitment = commitmentOf(ID);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.NotTheCreator.selector, ID));
        registry.register(registration(ID, address(0), defaultTerms()), new address[](0), new uint16[](0));
        registerAlone(bob, r);
        assertFalse(registry.isRegistered(ID), "the file's id is untouched");
        register(ID, address(0), defaultTerms());
        assertEq(registry.creatorOf(ID), creator, "creator");
    }

    /// Finding 1: a creator cannot register a second ("alias") content with the commitment of one
    /// they already registered; the reverse map names the first.
    function test_alias_with_the_same_commitment_is_refused() public {
        register(ID, address(0), defaultTerms());
        assertEq(registry.contentOfCommitment(creator, commitmentOf(ID)), ID, "reverse map");
        uint256 alias_ = newId(0xa11a5);
        ContentRegistry.Registration memory r = registration(alias_, address(0), defaultTerms());
        r.keyCommitment = commitmentOf(ID);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.CommitmentTaken.selector, ID));
        registerAlone(creator, r);
        assertFalse(registry.isRegistered(alias_), "no alias");
        assertEq(registry.contentOfCommitment(creator, commitmentOf(ID)), ID, "still the first");
    }

    /// Uniqueness is per creator: a stranger who registers a creator's commitment first (under an
    /// id of their own) does not block the creator, and each creator's entry names their content.
    function test_a_stranger_cannot_block_a_creators_commitment() public {
        uint256 strangers = newId(bob, 0xb0b);
        ContentRegistry.Registration memory r = registration(strangers, address(0), defaultTerms());
        r.keyCommitment = commitmentOf(ID);
        registerAlone(bob, r);
        register(ID, address(0), defaultTerms());
        assertEq(registry.contentOfCommitment(creator, commitmentOf(ID)), ID, "creator's content");
        assertEq(registry.contentOfCommitment(bob, commitmentOf(ID)), strangers, "stranger's content");
        assertEq(registry.contentOfCommitment(alice, commitmentOf(ID)), 0, "none for alice");
    }

    function test_split_must_sum_to_10000() public {
        (address[] memory holders, uint16[] memory amounts) = split(creator, 8_000, producer, 1_999);
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
        assertBadRegistration(registration(0, address(0), defaultTerms()), "zero content id");
        ContentRegistry.Registration memory r = registration(ID, address(0), defaultTerms());
        r.keyCommitment = bytes32(0);
        assertBadRegistration(r, "zero key commitment");
        r = registration(ID, address(0), defaultTerms());
        r.cid = "";
        assertBadRegistration(r, "empty cid");
        assertBadRegistration(registration(ID, address(0xdead), defaultTerms()), "payment token is not a contract");
    }

    /// `creator` sending `r` (holding all its shares) is refused with `BadRegistration(reason)`.
    function assertBadRegistration(ContentRegistry.Registration memory r, string memory reason) internal {
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.BadRegistration.selector, reason));
        registerAlone(creator, r);
    }

    function test_terms_validation() public {
        Terms memory t = defaultTerms();
        t.rentPrice = 0; // period still set
        assertBadTerms(t, "rent price and period must both be set");
        t = defaultTerms();
        t.subscriptionPeriod = 0;
        assertBadTerms(t, "subscription price and period must both be set");
        t = defaultTerms();
        t.resaleRoyaltyBps = 5_001;
        assertBadTerms(t, "resale royalty above 50%");
        t = defaultTerms();
        t.price = 0;
        t.maxEditions = 5;
        assertBadTerms(t, "edition cap without a price");
    }

    /// Registering `ID` with terms `t` is refused with `BadTerms(reason)`.
    function assertBadTerms(Terms memory t, string memory reason) internal {
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.BadTerms.selector, reason));
        register(ID, address(0), t);
    }

    function test_only_creator_changes_terms_and_renderers() public {
        register(ID, address(0), defaultTerms());
        Terms memory t = defaultTerms();
        t.price = 2 ether;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.NotCreator.selector, alice));
        registry.setTerms(ID, t);
        setTerms(ID, t);
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
        (address[] memory holders, uint16[] memory amounts) = soleHolder(alice);
        vm.expectRevert(RoyaltyShares.OnlyRegistry.selector);
        shares.mintInitial(ID, address(0), alice, holders, amounts);
    }
}
