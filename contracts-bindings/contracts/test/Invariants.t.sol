// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./utils/Fixture.sol";
import {TestBase} from "./utils/TestBase.sol";
import {Terms} from "../src/Terms.sol";
import {RoyaltyShares} from "../src/RoyaltyShares.sol";
import {Access} from "../src/Access.sol";
import {Market} from "../src/Market.sol";

/// Drives random sales, share trades, market fills and claims, keeping ghost totals of every wei.
contract Handler is TestBase {
    RoyaltyShares internal immutable shares;
    Access internal immutable access;
    Market internal immutable market;
    address[] public actors;
    uint256[] public ids;

    uint256 public revenueIn;
    uint256 public claimed;
    uint256 public feesWithdrawn;
    uint256 public poolWithdrawn;
    /// Set if a share transfer ever changed what either party had earned.
    bool public transferMovedEarnings;

    constructor(
        RoyaltyShares shares_,
        Access access_,
        Market market_,
        address[] memory actors_,
        uint256[] memory ids_
    ) {
        shares = shares_;
        access = access_;
        market = market_;
        actors = actors_;
        ids = ids_;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _id(uint256 seed) internal view returns (uint256) {
        return ids[seed % ids.length];
    }

    function buy(uint256 who, uint256 which, uint96 overpay) external {
        address a = _actor(who);
        uint256 id = _id(which);
        uint256 price = access.registry().termsOf(id).price;
        uint256 value = price + (uint256(overpay) % 1 ether);
        vm.deal(a, a.balance + value);
        vm.prank(a);
        access.buy{value: value}(id, price);
        revenueIn += price;
    }

    function rent(uint256 who, uint256 which, uint8 periods) external {
        address a = _actor(who);
        uint256 id = _id(which);
        uint32 p = uint32(bound(periods, 1, 12));
        uint256 price = 0.1 ether * p;
        vm.deal(a, a.balance + price);
        vm.prank(a);
        access.rent{value: price}(id, p, 0.1 ether, 1 days);
        revenueIn += price;
    }

    function transferShares(uint256 from, uint256 to, uint256 which, uint16 amount) external {
        address f = _actor(from);
        address t = _actor(to);
        uint256 id = _id(which);
        uint256 bal = shares.balanceOf(f, id);
        if (bal == 0) return;
        uint256 n = bound(amount, 1, bal);
        uint256 fBefore = shares.claimable(f, id);
        uint256 tBefore = shares.claimable(t, id);
        vm.prank(f);
        shares.safeTransferFrom(f, t, id, n, "");
        if (shares.claimable(f, id) != fBefore || shares.claimable(t, id) != tBefore) transferMovedEarnings = true;
    }

    function resell(uint256 from, uint256 to, uint256 which, uint64 unitPrice) external {
        address seller = _actor(from);
        address buyer = _actor(to);
        uint256 id = _id(which);
        if (seller == buyer || access.balanceOf(seller, id) == 0) return;
        uint128 price = uint128(bound(unitPrice, 1, 10 ether));
        vm.startPrank(seller);
        access.setApprovalForAll(address(market), true);
        uint256 lid = market.list(address(access), id, 1, price, 1_000);
        vm.stopPrank();
        vm.deal(buyer, buyer.balance + price);
        vm.prank(buyer);
        market.buyListing{value: price}(lid, 1, 1_000);
        revenueIn += uint256(price) * 1_000 / 10_000; // the 10 % resale royalty
    }

    function claim(uint256 who, uint256 which) external {
        address a = _actor(who);
        uint256 id = _id(which);
        if (shares.claimable(a, id) == 0) return;
        vm.prank(a);
        claimed += shares.claim(id);
    }

    function claimAll(uint256 who) external {
        vm.prank(_actor(who));
        claimed += shares.claimMany(ids);
    }

    function withdrawFees() external {
        feesWithdrawn += shares.withdrawFees(address(0));
    }

    function withdrawPool() external {
        address pool = shares.rewardPool();
        vm.prank(pool);
        poolWithdrawn += shares.withdrawPool(address(0));
    }
}

contract InvariantsTest is Fixture {
    Handler internal handler;
    uint256[] internal ids;
    address[] internal actors;

    function setUp() public override {
        super.setUp();
        ids.push(registerNew(0xdd01, address(0), defaultTerms()));
        ids.push(registerNew(0xdd02, address(0), defaultTerms()));
        actors.push(creator);
        actors.push(producer);
        actors.push(alice);
        actors.push(bob);
        actors.push(address(0xCA201));
        handler = new Handler(shares, access, market, actors, ids);
        for (uint256 i = 0; i < ids.length; ++i) {
            Terms memory t = defaultTerms();
            t.price = uint128(1 ether + 2_999 * (i + 1)); // odd prices leave division dust
            vm.prank(creator);
            registry.setTerms(ids[i], t);
        }
    }

    /// forge fuzzes only the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_shares_always_sum_to_10000() public view {
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 sum;
            for (uint256 j = 0; j < actors.length; ++j) {
                sum += shares.balanceOf(actors[j], ids[i]);
            }
            assertEq(sum, 10_000, "shares of a content");
        }
    }

    function invariant_every_wei_is_claimed_claimable_fee_or_pool() public view {
        uint256 claimableSum;
        for (uint256 i = 0; i < ids.length; ++i) {
            for (uint256 j = 0; j < actors.length; ++j) {
                claimableSum += shares.claimable(actors[j], ids[i]);
            }
        }
        (uint128 fees, uint128 poolAcc) = shares.accrued(address(0));
        uint256 feeTotal = fees + handler.feesWithdrawn();
        uint256 poolTotal = poolAcc + handler.poolWithdrawn();
        assertEq(
            handler.revenueIn(), handler.claimed() + claimableSum + feeTotal + poolTotal, "revenue in = out, to the wei"
        );
        // ...and the contract holds exactly what is still owed.
        assertEq(address(shares).balance, claimableSum + fees + poolAcc, "solvent to the wei");
    }

    function invariant_a_transfer_never_moves_earnings() public view {
        assertFalse(handler.transferMovedEarnings(), "transfer moved earnings");
    }
}
