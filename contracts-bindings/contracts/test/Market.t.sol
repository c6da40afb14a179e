// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ContentFixture} from "./utils/Fixture.sol";
import {Terms} from "../src/Terms.sol";
import {Market} from "../src/Market.sol";

contract MarketTest is ContentFixture {
    function setUp() public override {
        super.setUp();
        vm.prank(creator);
        shares.setApprovalForAll(address(market), true);
    }

    function test_share_listing_partial_fills() public {
        vm.prank(creator);
        uint256 lid = market.list(address(shares), ID, 1_000, 0.001 ether, 0);
        vm.prank(alice);
        market.buyListing{value: 0.5 ether}(lid, 300, 0); // 0.3 ELA, 0.2 refunded
        assertEq(shares.balanceOf(alice, ID), 300, "alice bought 300");
        assertEq(alice.balance, 1_000 ether - 0.3 ether, "excess refunded");
        assertEq(market.withdrawable(creator, address(0)), 0.3 ether, "seller proceeds, no royalty on shares");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Market.NotEnough.selector, 700, 701));
        market.buyListing{value: 1 ether}(lid, 701, 0);
        vm.prank(bob);
        market.buyListing{value: 0.7 ether}(lid, 700, 0);
        assertEq(shares.balanceOf(bob, ID), 700, "bob filled the rest");
        uint256 before = creator.balance;
        vm.prank(creator);
        market.withdraw(address(0));
        assertEq(creator.balance - before, 1 ether, "withdrawn");
    }

    function test_listing_checks() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Market.UnknownCollection.selector, address(usd)));
        market.list(address(usd), ID, 1, 1, 0);
        vm.prank(producer);
        vm.expectRevert(Market.NotApproved.selector);
        market.list(address(shares), ID, 1, 1, 0);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(Market.NotEnough.selector, 8_000, 8_001));
        market.list(address(shares), ID, 8_001, 1, 0);
        vm.prank(creator);
        uint256 lid = market.list(address(shares), ID, 10, 1, 0);
        vm.prank(alice);
        vm.expectRevert(Market.NotMaker.selector);
        market.cancelListing(lid);
        vm.prank(creator);
        market.cancelListing(lid);
        vm.prank(alice);
        vm.expectRevert(Market.BadOrder.selector);
        market.buyListing{value: 1}(lid, 1, 0);
    }

    function test_access_resale_pays_royalty_to_holders() public {
        uint256 lid = listAccessToken();
        uint256 producerBefore = shares.claimable(producer, ID);
        vm.prank(bob);
        market.buyListing{value: 2 ether}(lid, 1, 1_000);
        assertTrue(access.hasAccess(bob, ID), "bob has access");
        assertFalse(access.hasAccess(alice, ID), "alice sold it");
        // 10 % resale royalty = 0.2 ELA, of which 96.5 % to holders; producer has 20 %.
        assertEq(shares.claimable(producer, ID) - producerBefore, 0.0386 ether, "royalty to producer");
        assertEq(market.withdrawable(alice, address(0)), 1.8 ether, "seller gets 90 %");
    }

    /// Alice buys an access token and lets the market move it.
    function ownAccessToken() internal {
        buy(alice, ID);
        vm.prank(alice);
        access.setApprovalForAll(address(market), true);
    }

    /// Alice buys an access token and lists it at 2 ELA, accepting today's 10 % royalty.
    function listAccessToken() internal returns (uint256 lid) {
        ownAccessToken();
        vm.prank(alice);
        lid = market.list(address(access), ID, 1, 2 ether, 1_000);
    }

    function raiseRoyalty(uint16 bps) internal {
        Terms memory t = defaultTerms();
        t.resaleRoyaltyBps = bps;
        setTerms(ID, t);
    }

    /// Finding 6: the creator raises the resale royalty to 50 % under a pending `buyListing`; the
    /// buyer named 10 %, so the fill reverts and the seller keeps the token.
    function test_royalty_raised_under_pending_buy_listing() public {
        uint256 lid = listAccessToken();
        raiseRoyalty(5_000); // front-run
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Market.RoyaltyAboveMax.selector, 5_000, 1_000));
        market.buyListing{value: 2 ether}(lid, 1, 1_000);
        assertEq(access.balanceOf(alice, ID), 1, "seller keeps the token");
        assertEq(market.withdrawable(alice, address(0)), 0, "no proceeds at half price");
    }

    /// The seller's bound is in the listing: a buyer who accepts 50 % (here the creator, who
    /// raised the royalty and holds most royalty shares) still cannot fill at the seller's cost.
    function test_listing_keeps_the_sellers_royalty_bound() public {
        uint256 lid = listAccessToken();
        raiseRoyalty(5_000);
        vm.deal(creator, 10 ether);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(Market.RoyaltyAboveMax.selector, 5_000, 1_000));
        market.buyListing{value: 2 ether}(lid, 1, 5_000);
        assertEq(access.balanceOf(alice, ID), 1, "seller keeps the token");
        (,,, uint16 bound_,,) = market.listings(lid);
        assertEq(bound_, 1_000, "bound stored with the listing");
    }

    /// A listing must accept at least today's royalty.
    function test_listing_below_the_current_royalty_is_refused() public {
        ownAccessToken();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Market.RoyaltyAboveMax.selector, 1_000, 999));
        market.list(address(access), ID, 1, 2 ether, 999);
    }

    /// Finding 6, offers: the seller accepting an offer for an access token named the royalty they
    /// saw; a raised royalty under the pending `acceptOffer` reverts it.
    function test_royalty_raised_under_pending_accept_offer() public {
        ownAccessToken();
        vm.prank(bob);
        uint256 oid = market.makeOffer{value: 2 ether}(address(access), ID, 1, 2 ether);
        raiseRoyalty(5_000);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Market.RoyaltyAboveMax.selector, 5_000, 1_000));
        market.acceptOffer(oid, 1, 1_000);
        raiseRoyalty(1_000); // back to the terms alice saw: the fill goes through
        vm.prank(alice);
        market.acceptOffer(oid, 1, 1_000);
        assertEq(market.withdrawable(alice, address(0)), 1.8 ether, "seller gets 90 %");
        assertTrue(access.hasAccess(bob, ID), "bob holds it");
    }

    /// A royalty lowered after listing is within every bound; the seller gets more.
    function test_lowered_royalty_fills() public {
        uint256 lid = listAccessToken();
        raiseRoyalty(500);
        vm.prank(bob);
        market.buyListing{value: 2 ether}(lid, 1, 1_000);
        assertEq(market.withdrawable(alice, address(0)), 1.9 ether, "seller gets 95 %");
    }

    function test_offers_escrow_partial_accept_and_cancel() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Market.InsufficientPayment.selector, 1 ether, 0.9 ether));
        market.makeOffer{value: 0.9 ether}(address(shares), ID, 100, 0.01 ether);
        vm.prank(alice);
        uint256 oid = market.makeOffer{value: 1 ether}(address(shares), ID, 100, 0.01 ether);
        assertEq(address(market).balance, 1 ether, "escrowed");
        vm.prank(creator);
        market.acceptOffer(oid, 40, 0);
        assertEq(shares.balanceOf(alice, ID), 40, "alice got 40");
        assertEq(market.withdrawable(creator, address(0)), 0.4 ether, "creator proceeds");
        vm.prank(bob);
        vm.expectRevert(Market.NotMaker.selector);
        market.cancelOffer(oid);
        vm.prank(alice);
        market.cancelOffer(oid);
        assertEq(market.withdrawable(alice, address(0)), 0.6 ether, "unfilled escrow refundable");
        vm.prank(creator);
        vm.expectRevert(Market.BadOrder.selector);
        market.acceptOffer(oid, 1, 0);
        vm.prank(alice);
        market.withdraw(address(0));
        assertEq(alice.balance, 1_000 ether - 0.4 ether, "alice paid only for 40");
    }

    function test_erc20_listing() public {
        Terms memory t = defaultTerms();
        t.price = 1_000_000;
        uint256 id = registerNew(0xdd02, address(usd), t);
        vm.prank(creator);
        uint256 lid = market.list(address(shares), id, 500, 2_000, 0);
        fundUsd(alice, 1_000_000, address(market), type(uint256).max);
        vm.prank(alice);
        vm.expectRevert(Market.UnexpectedNativeValue.selector);
        market.buyListing{value: 1}(lid, 500, 0);
        vm.prank(alice);
        market.buyListing(lid, 500, 0);
        assertEq(usd.balanceOf(alice), 0, "paid 1 TUSD");
        vm.prank(creator);
        market.withdraw(address(usd));
        assertEq(usd.balanceOf(creator), 1_000_000, "proceeds in TUSD");
    }

    function test_pause_stops_trading_not_withdrawals() public {
        vm.prank(creator);
        uint256 lid = market.list(address(shares), ID, 100, 0.01 ether, 0);
        vm.prank(alice);
        uint256 oid = market.makeOffer{value: 0.5 ether}(address(shares), ID, 50, 0.01 ether);
        vm.prank(gov);
        access.pause();
        vm.prank(bob);
        vm.expectRevert(Market.Paused.selector);
        market.buyListing{value: 1 ether}(lid, 100, 0);
        vm.prank(creator);
        vm.expectRevert(Market.Paused.selector);
        market.acceptOffer(oid, 10, 0);
        vm.prank(alice);
        market.cancelOffer(oid);
        vm.prank(alice);
        market.withdraw(address(0));
        assertEq(alice.balance, 1_000 ether, "refund withdrawn while paused");
    }
}
