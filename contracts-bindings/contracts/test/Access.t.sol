// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ContentFixture} from "./utils/Fixture.sol";
import {Terms} from "../src/Terms.sol";
import {Access} from "../src/Access.sol";
import {ContentRegistry} from "../src/ContentRegistry.sol";
import {RoyaltyShares} from "../src/RoyaltyShares.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// Accepts access tokens but no ELA, so a refund to it fails.
contract RejectsRefund {
    function buy(Access access, uint256 id) external payable {
        access.buy{value: msg.value}(id, 1 ether);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }
}

contract AccessTest is ContentFixture {
    function test_buy_mints_token_and_refunds_excess() public {
        uint256 before = alice.balance;
        vm.prank(alice);
        uint256 edition = access.buy{value: 1.5 ether}(ID, 1 ether);
        assertEq(edition, 1, "edition");
        assertEq(before - alice.balance, 1 ether, "paid exactly the price");
        assertEq(access.balanceOf(alice, ID), 1, "token");
        assertTrue(access.hasAccess(alice, ID), "access");
        assertFalse(access.hasAccess(bob, ID), "bob has none");
        assertEq(access.editionsSold(ID), 1, "editions");
        assertEq(address(shares).balance, 1 ether, "revenue held by shares");
        // 1 ELA: 2.5 % fee, 1 % pool, 96.5 % to holders (80/20).
        assertEq(shares.claimable(creator, ID), 0.772 ether, "creator 80%");
        assertEq(shares.claimable(producer, ID), 0.193 ether, "producer 20%");
        (uint128 fees, uint128 poolAcc) = shares.accrued(address(0));
        assertEq(fees, 0.025 ether, "fee");
        assertEq(poolAcc, 0.01 ether, "pool");
    }

    function test_buy_fails_cleanly() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.InsufficientPayment.selector, 1 ether, 0.5 ether));
        access.buy{value: 0.5 ether}(ID, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ContentRegistry.UnknownContent.selector, 42));
        buy(alice, 42);
        Terms memory t = defaultTerms();
        t.price = 0;
        setTerms(ID, t);
        vm.expectRevert(abi.encodeWithSelector(Access.NotForSale.selector, ID));
        buy(alice, ID);
    }

    /// Registration pre-initialises the edition counter and the revenue per share, so the first
    /// sale of a content writes no fresh storage slot but the buyer's token balance, like any
    /// later sale (a fresh slot costs ~20k gas more than updating a non-zero one).
    function test_first_sale_writes_no_fresh_content_slot() public {
        uint256 id2 = registerNew(0xdd02, address(0), defaultTerms());
        buy(bob, ID); // the platform's first sale (fee and pool accrual start)
        assertEq(access.editionsSold(id2), 0, "no edition sold yet");
        assertEq(shares.revenuePerShare(id2), 0, "no revenue yet");
        assertEq(freshSlotsWrittenByBuy(alice, id2, address(access)), 1, "first sale: Access");
        assertEq(freshSlotsWrittenByBuy(alice, id2, address(shares)), 0, "first sale: RoyaltyShares");
        assertEq(buy(alice, id2), 1, "first edition");
        assertEq(freshSlotsWrittenByBuy(bob, id2, address(access)), 1, "second sale: Access");
        assertEq(freshSlotsWrittenByBuy(bob, id2, address(shares)), 0, "second sale: RoyaltyShares");
        assertEq(buy(bob, id2), 2, "second edition");
        assertEq(access.editionsSold(id2), 2, "editions");
        assertEq(shares.revenuePerShare(id2), 2 * 0.965 ether / 10_000, "revenue per share");
        assertEq(shares.claimable(creator, id2), 2 * 0.772 ether, "creator 80%");
    }

    /// Distinct storage slots of `target` that `buyer` buying `id` would change from zero (the
    /// sale is rolled back).
    function freshSlotsWrittenByBuy(address buyer, uint256 id, address target) internal returns (uint256 fresh) {
        uint256 snap = vm.snapshotState();
        vm.record();
        buy(buyer, id);
        (, bytes32[] memory writes) = vm.accesses(target);
        vm.revertToState(snap);
        for (uint256 i = 0; i < writes.length; ++i) {
            bool seen;
            for (uint256 j = 0; j < i; ++j) {
                if (writes[j] == writes[i]) seen = true;
            }
            if (!seen && vm.load(target, writes[i]) == bytes32(0)) ++fresh;
        }
    }

    function test_only_registry_initialises_edition_counters() public {
        vm.prank(alice);
        vm.expectRevert(Access.OnlyRegistry.selector);
        access.initContent(ID);
    }

    /// A content registered before the registry was wired to Access still sells, counting from 1.
    function test_content_registered_before_wiring_sells_normally() public {
        RoyaltyShares s2 = new RoyaltyShares(gov, treasury, FEE_BPS, POOL_BPS);
        ContentRegistry r2 = new ContentRegistry(gov, capsules, s2);
        assertEq(r2.access(), address(0), "not wired");
        Access a2 = new Access(gov, r2, s2);
        vm.startPrank(gov);
        s2.setRegistry(address(r2));
        s2.setDistributor(address(a2), true);
        vm.stopPrank();
        (address[] memory holders, uint16[] memory amounts) = soleHolder(creator);
        vm.prank(creator);
        r2.register(registration(ID, address(0), defaultTerms()), holders, amounts);
        assertEq(a2.editionsSold(ID), 0, "none sold");
        vm.prank(alice);
        assertEq(a2.buy{value: 1 ether}(ID, 1 ether), 1, "first edition");
        vm.prank(bob);
        assertEq(a2.buy{value: 1 ether}(ID, 1 ether), 2, "second edition");
        assertEq(a2.editionsSold(ID), 2, "two sold");
        // Wiring later initialises only contents registered afterwards; counting goes on.
        vm.prank(gov);
        r2.setAccess(address(a2));
        vm.prank(alice);
        assertEq(a2.buy{value: 1 ether}(ID, 1 ether), 3, "third edition");
    }

    function test_refund_to_a_rejecting_contract_reverts_the_sale() public {
        RejectsRefund r = new RejectsRefund();
        vm.prank(alice);
        vm.expectRevert(Access.RefundFailed.selector);
        r.buy{value: 2 ether}(access, ID);
    }

    function test_edition_cap() public {
        Terms memory t = defaultTerms();
        t.maxEditions = 2;
        setTerms(ID, t);
        buy(alice, ID);
        buy(bob, ID);
        vm.expectRevert(abi.encodeWithSelector(Access.SoldOut.selector, ID, 2));
        buy(alice, ID);
    }

    function test_rent_expires() public {
        vm.warp(1_000_000);
        vm.prank(alice);
        uint64 exp = access.rent{value: 0.3 ether}(ID, 3, 0.1 ether, 1 days);
        assertEq(exp, 1_000_000 + 3 days, "expiry");
        assertEq(access.expiresAt(alice, ID), exp, "expiresAt view");
        assertTrue(access.hasAccess(alice, ID), "rented");
        vm.warp(exp - 1);
        assertTrue(access.hasAccess(alice, ID), "one second left");
        vm.warp(exp);
        assertFalse(access.hasAccess(alice, ID), "expired at expiry");
        vm.prank(alice);
        vm.expectRevert(Access.ZeroPeriods.selector);
        access.rent{value: 0.1 ether}(ID, 0, 0.1 ether, 1 days);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.InsufficientPayment.selector, 0.2 ether, 0.1 ether));
        access.rent{value: 0.1 ether}(ID, 2, 0.1 ether, 1 days);
    }

    function test_subscribe_extends_before_expiry_and_restarts_after() public {
        vm.warp(1_000_000);
        vm.prank(alice);
        uint64 first = access.subscribe{value: 0.05 ether}(ID, 1, 0.05 ether, 30 days);
        assertEq(first, 1_000_000 + 30 days, "first period");
        vm.warp(1_000_000 + 10 days);
        vm.prank(alice);
        uint64 renewed = access.subscribe{value: 0.1 ether}(ID, 2, 0.05 ether, 30 days);
        assertEq(renewed, first + 60 days, "extended from the old expiry");
        vm.warp(renewed + 5 days);
        assertFalse(access.hasAccess(alice, ID), "lapsed");
        vm.prank(alice);
        uint64 restarted = access.subscribe{value: 0.05 ether}(ID, 1, 0.05 ether, 30 days);
        assertEq(restarted, renewed + 5 days + 30 days, "restarted from now");
    }

    /// Finding 6: the creator shrinks the rental period under a pending `rent` (same price). The
    /// buyer named the period they saw, so the rental reverts instead of selling 1 second.
    function test_rent_period_shrunk_under_pending_rent() public {
        Terms memory t = defaultTerms();
        t.rentPeriod = 1;
        setTerms(ID, t); // front-run
        uint256 before = alice.balance;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.PeriodBelowMin.selector, 1, 1 days));
        access.rent{value: 0.1 ether}(ID, 1, 0.1 ether, 1 days);
        assertEq(access.expiresAt(alice, ID), 0, "no rental");
        assertEq(alice.balance, before, "nothing paid");
    }

    /// Finding 6, subscriptions: a shortened period under a pending `subscribe` reverts too.
    function test_subscription_period_shrunk_under_pending_subscribe() public {
        Terms memory t = defaultTerms();
        t.subscriptionPeriod = 1 days;
        setTerms(ID, t);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.PeriodBelowMin.selector, 1 days, 30 days));
        access.subscribe{value: 0.05 ether}(ID, 1, 0.05 ether, 30 days);
        assertFalse(access.hasAccess(alice, ID), "no subscription");
    }

    /// Finding 6: a raised rent price is not charged from an overpaying native payment (which
    /// would otherwise just shrink the refund).
    function test_rent_price_raised_under_pending_rent() public {
        Terms memory t = defaultTerms();
        t.rentPrice = 0.3 ether;
        setTerms(ID, t);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.PriceAboveMax.selector, 0.3 ether, 0.1 ether));
        access.rent{value: 0.5 ether}(ID, 1, 0.1 ether, 1 days);
    }

    /// Finding 6: with a standing ERC-20 allowance, a price raised under a pending `buy` is not
    /// pulled; the buyer's balance is untouched.
    function test_price_raised_under_pending_erc20_buy() public {
        Terms memory t = defaultTerms();
        t.price = 5_000_000;
        uint256 id = registerNew(0xdd03, address(usd), t);
        fundUsd(alice, 100_000_000, address(access), type(uint256).max);
        t.price = 100_000_000;
        setTerms(id, t); // front-run: up to the whole balance
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.PriceAboveMax.selector, 100_000_000, 5_000_000));
        access.buy(id, 5_000_000);
        assertEq(usd.balanceOf(alice), 100_000_000, "nothing pulled");
        assertEq(access.balanceOf(alice, id), 0, "no token");
    }

    /// Terms that moved in the buyer's favour (cheaper, longer) stay within the bounds and sell.
    function test_better_terms_than_the_bounds_sell() public {
        vm.warp(1_000_000);
        Terms memory t = defaultTerms();
        t.price = 0.5 ether;
        t.rentPrice = 0.05 ether;
        t.rentPeriod = 2 days;
        setTerms(ID, t);
        uint256 before = alice.balance;
        buy(alice, ID);
        assertEq(before - alice.balance, 0.5 ether, "paid the lower price");
        vm.prank(bob);
        assertEq(access.rent{value: 0.1 ether}(ID, 1, 0.1 ether, 1 days), 1_000_000 + 2 days, "longer period");
    }

    function test_no_rental_or_subscription_offered() public {
        Terms memory t = defaultTerms();
        t.rentPrice = 0;
        t.rentPeriod = 0;
        t.subscriptionPrice = 0;
        t.subscriptionPeriod = 0;
        setTerms(ID, t);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.NotForSale.selector, ID));
        access.rent{value: 1 ether}(ID, 1, 0.1 ether, 1 days);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Access.NotForSale.selector, ID));
        access.subscribe{value: 1 ether}(ID, 1, 0.05 ether, 30 days);
    }

    function test_erc20_payment() public {
        Terms memory t = defaultTerms();
        t.price = 5_000_000; // 5 TUSD
        uint256 id = registerNew(0xdd02, address(usd), t);
        fundUsd(alice, 20_000_000, address(access), type(uint256).max);
        vm.prank(alice);
        vm.expectRevert(Access.UnexpectedNativeValue.selector);
        access.buy{value: 1}(id, 5_000_000);
        vm.prank(alice);
        access.buy(id, 5_000_000);
        assertEq(usd.balanceOf(alice), 15_000_000, "paid 5 TUSD");
        assertEq(usd.balanceOf(address(shares)), 5_000_000, "held by shares");
        // 4,825,000 to holders = 482 per share (x 10,000) + 5,000 dust to the creator.
        assertEq(shares.claimable(producer, id), 964_000, "producer 2,000 x 482");
        assertEq(shares.claimable(creator, id), 3_856_000 + 5_000, "creator 8,000 x 482 + dust");
        vm.prank(producer);
        shares.claim(id);
        assertEq(usd.balanceOf(producer), 964_000, "claimed in TUSD");
    }

    function test_pause_stops_sales_not_claims() public {
        buy(alice, ID);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(0x118cdaa7, alice)); // OwnableUnauthorizedAccount
        access.pause();
        vm.prank(gov);
        access.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        buy(bob, ID);
        vm.prank(bob);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        access.rent{value: 1 ether}(ID, 1, 0.1 ether, 1 days);
        vm.prank(bob);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        access.subscribe{value: 1 ether}(ID, 1, 0.05 ether, 30 days);
        uint256 before = producer.balance;
        vm.prank(producer);
        shares.claim(ID);
        assertEq(producer.balance - before, 0.193 ether, "claim works while paused");
        assertTrue(access.hasAccess(alice, ID), "access views unaffected");
        vm.prank(gov);
        access.unpause();
        buy(bob, ID);
    }

    function test_transferred_access_token_moves_access() public {
        buy(alice, ID);
        vm.prank(alice);
        access.safeTransferFrom(alice, bob, ID, 1, "");
        assertFalse(access.hasAccess(alice, ID), "alice gave it away");
        assertTrue(access.hasAccess(bob, ID), "bob holds it");
    }

    function test_royalty_info_points_at_the_vault() public view {
        (address receiver, uint256 amount) = access.royaltyInfo(ID, 2 ether);
        assertEq(receiver, shares.vaultOf(ID), "vault");
        assertEq(amount, 0.2 ether, "10%");
        assertTrue(access.supportsInterface(0x2a55205a), "ERC-2981");
        assertTrue(access.supportsInterface(0xd9b67a26), "ERC-1155");
    }

    function test_outside_marketplace_royalty_reaches_holders() public {
        address vault = shares.vaultOf(ID);
        vm.prank(alice);
        (bool ok,) = vault.call{value: 1 ether}("");
        assertTrue(ok, "pay the vault before it exists");
        uint256 swept = shares.sweepVault(ID);
        assertEq(swept, 1 ether, "swept");
        assertEq(shares.claimable(producer, ID), 0.193 ether, "revenue to holders");
        // A 2,300-gas transfer still reaches the deployed vault.
        vm.prank(alice);
        payable(vault).transfer(1 ether);
        shares.sweepVault(ID);
        assertEq(shares.claimable(producer, ID), 0.386 ether, "second sweep");
        vm.prank(alice);
        vm.expectRevert(RoyaltyShares.WrongPayment.selector);
        (ok,) = address(shares).call{value: 1}("");
    }
}
