// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./utils/Fixture.sol";
import {Terms} from "../src/Terms.sol";
import {Market} from "../src/Market.sol";

contract MarketTest is Fixture {
    uint256 internal ID;

    function setUp() public override {
        super.setUp();
        ID = newId(0xdd01);
        register(ID, address(0), defaultTerms());
        vm.prank(creator);
        shares.setApprovalForAll(address(market), true);
    }

    function test_share_listing_partial_fills() public {
        vm.prank(creator);
        uint256 lid = market.list(address(shares), ID, 1_000, 0.001 ether);
        vm.prank(alice);
        market.buyListing{value: 0.5 ether}(lid, 300); // 0.3 ELA, 0.2 refunded
        assertEq(shares.balanceOf(alice, ID), 300, "alice bought 300");
        assertEq(alice.balance, 1_000 ether - 0.3 ether, "excess refunded");
        assertEq(market.withdrawable(creator, address(0)), 0.3 ether, "seller proceeds, no royalty on shares");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Market.NotEnough.selector, 700, 701));
        market.buyListing{value: 1 ether}(lid, 701);
        vm.prank(bob);
        market.buyListing{value: 0.7 ether}(lid, 700);
        assertEq(shares.balanceOf(bob, ID), 700, "bob filled the rest");
        uint256 before = creator.balance;
        vm.prank(creator);
        market.withdraw(address(0));
        assertEq(creator.balance - before, 1 ether, "withdrawn");
    }

    function test_listing_checks() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Market.UnknownCollection.selector, address(usd)));
        market.list(address(usd), ID, 1, 1);
        vm.prank(producer);
        vm.expectRevert(Market.NotApproved.selector);
        market.list(address(shares), ID, 1, 1);
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(Market.NotEnough.selector, 8_000, 8_001));
        market.list(address(shares), ID, 8_001, 1);
        vm.prank(creator);
        uint256 lid = market.list(address(shares), ID, 10, 1);
        vm.prank(alice);
        vm.expectRevert(Market.NotMaker.selector);
        market.cancelListing(lid);
        vm.prank(creator);
        market.cancelListing(lid);
        vm.prank(alice);
        vm.expectRevert(Market.BadOrder.selector);
        market.buyListing{value: 1}(lid, 1);
    }

    function test_access_resale_pays_royalty_to_holders() public {
        vm.prank(alice);
        access.buy{value: 1 ether}(ID);
        uint256 producerBefore = shares.claimable(producer, ID);
        vm.prank(alice);
        access.setApprovalForAll(address(market), true);
        vm.prank(alice);
        uint256 lid = market.list(address(access), ID, 1, 2 ether);
        vm.prank(bob);
        market.buyListing{value: 2 ether}(lid, 1);
        assertTrue(access.hasAccess(bob, ID), "bob has access");
        assertFalse(access.hasAccess(alice, ID), "alice sold it");
        // 10 % resale royalty = 0.2 ELA, of which 96.5 % to holders; producer has 20 %.
        assertEq(shares.claimable(producer, ID) - producerBefore, 0.0386 ether, "royalty to producer");
        assertEq(market.withdrawable(alice, address(0)), 1.8 ether, "seller gets 90 %");
    }

    function test_offers_escrow_partial_accept_and_cancel() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Market.InsufficientPayment.selector, 1 ether, 0.9 ether));
        market.makeOffer{value: 0.9 ether}(address(shares), ID, 100, 0.01 ether);
        vm.prank(alice);
        uint256 oid = market.makeOffer{value: 1 ether}(address(shares), ID, 100, 0.01 ether);
        assertEq(address(market).balance, 1 ether, "escrowed");
        vm.prank(creator);
        market.acceptOffer(oid, 40);
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
        market.acceptOffer(oid, 1);
        vm.prank(alice);
        market.withdraw(address(0));
        assertEq(alice.balance, 1_000 ether - 0.4 ether, "alice paid only for 40");
    }

    function test_erc20_listing() public {
        uint256 id = newId(0xdd02);
        Terms memory t = defaultTerms();
        t.price = 1_000_000;
        register(id, address(usd), t);
        vm.prank(creator);
        uint256 lid = market.list(address(shares), id, 500, 2_000);
        usd.mint(alice, 1_000_000);
        vm.prank(alice);
        usd.approve(address(market), type(uint256).max);
        vm.prank(alice);
        vm.expectRevert(Market.UnexpectedNativeValue.selector);
        market.buyListing{value: 1}(lid, 500);
        vm.prank(alice);
        market.buyListing(lid, 500);
        assertEq(usd.balanceOf(alice), 0, "paid 1 TUSD");
        vm.prank(creator);
        market.withdraw(address(usd));
        assertEq(usd.balanceOf(creator), 1_000_000, "proceeds in TUSD");
    }

    function test_pause_stops_trading_not_withdrawals() public {
        vm.prank(creator);
        uint256 lid = market.list(address(shares), ID, 100, 0.01 ether);
        vm.prank(alice);
        uint256 oid = market.makeOffer{value: 0.5 ether}(address(shares), ID, 50, 0.01 ether);
        vm.prank(gov);
        access.pause();
        vm.prank(bob);
        vm.expectRevert(Market.Paused.selector);
        market.buyListing{value: 1 ether}(lid, 100);
        vm.prank(creator);
        vm.expectRevert(Market.Paused.selector);
        market.acceptOffer(oid, 10);
        vm.prank(alice);
        market.cancelOffer(oid);
        vm.prank(alice);
        market.withdraw(address(0));
        assertEq(alice.balance, 1_000 ether, "refund withdrawn while paused");
    }
}
