// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ContentFixture} from "./utils/Fixture.sol";
import {Terms} from "../src/Terms.sol";
import {RoyaltyShares} from "../src/RoyaltyShares.sol";

contract RoyaltySharesTest is ContentFixture {
    function test_claim_pays_and_zeroes() public {
        buy(alice, ID);
        buy(bob, ID);
        uint256 before = creator.balance;
        vm.prank(creator);
        uint256 got = shares.claim(ID);
        assertEq(got, 1.544 ether, "two sales x 0.772");
        assertEq(creator.balance - before, got, "paid");
        assertEq(shares.claimable(creator, ID), 0, "nothing left");
        vm.prank(creator);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyShares.NothingToClaim.selector, ID));
        shares.claim(ID);
    }

    function test_transfer_keeps_earned_revenue_with_the_seller() public {
        buy(alice, ID);
        vm.prank(creator);
        shares.safeTransferFrom(creator, alice, ID, 4_000, "");
        assertEq(shares.claimable(creator, ID), 0.772 ether, "creator keeps earnings of the first sale");
        assertEq(shares.claimable(alice, ID), 0, "alice earned nothing yet");
        buy(bob, ID);
        // Second sale: 0.965 ELA to holders; creator 40 %, alice 40 %, producer 20 %.
        assertEq(shares.claimable(creator, ID), 0.772 ether + 0.386 ether, "creator after");
        assertEq(shares.claimable(alice, ID), 0.386 ether, "alice after");
        assertEq(shares.claimable(producer, ID), 0.386 ether, "producer both sales");
    }

    function test_transfer_requires_approval_and_balance() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyShares.NotApproved.selector, alice, creator));
        shares.safeTransferFrom(creator, alice, ID, 1, "");
        vm.prank(producer);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyShares.InsufficientShares.selector, producer, ID, 2000, 2001));
        shares.safeTransferFrom(producer, alice, ID, 2_001, "");
        vm.prank(creator);
        shares.setApprovalForAll(alice, true);
        vm.prank(alice);
        shares.safeTransferFrom(creator, bob, ID, 10, "");
        assertEq(shares.balanceOf(bob, ID), 10, "operator transfer");
    }

    function test_batch_transfer_and_batch_claim() public {
        uint256 id2 = registerNew(0xdd02, address(0), defaultTerms());
        buy(alice, ID);
        buy(alice, id2);
        uint256[] memory ids = new uint256[](2);
        ids[0] = ID;
        ids[1] = id2;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = 1_000;
        amounts[1] = 2_000;
        vm.prank(creator);
        shares.safeBatchTransferFrom(creator, bob, ids, amounts, "");
        assertEq(shares.balanceOf(bob, id2), 2_000, "batch moved");
        uint256 before = creator.balance;
        vm.prank(creator);
        uint256 total = shares.claimMany(ids);
        assertEq(total, 2 * 0.772 ether, "both contents");
        assertEq(creator.balance - before, total, "paid");
    }

    function test_dust_goes_to_the_creator() public {
        Terms memory t = defaultTerms();
        t.price = 1 ether + 12_345; // 96.5 % of it is not a multiple of 10,000 wei
        setTerms(ID, t);
        vm.prank(alice);
        access.buy{value: t.price}(ID, t.price);
        uint256 price = t.price;
        uint256 fee = price * FEE_BPS / 10_000;
        uint256 poolCut = price * POOL_BPS / 10_000;
        uint256 net = price - fee - poolCut;
        uint256 perShare = net / 10_000;
        uint256 dust = net % 10_000;
        assertTrue(dust != 0, "test needs dust");
        assertEq(shares.claimable(producer, ID), perShare * 2_000, "producer exact");
        assertEq(shares.claimable(creator, ID), perShare * 8_000 + dust, "creator gets dust");
    }

    function test_fees_to_treasury_pool_to_reward_pool() public {
        buy(alice, ID);
        shares.withdrawFees(address(0));
        assertEq(treasury.balance, 0.025 ether, "treasury");
        vm.prank(alice);
        vm.expectRevert(RoyaltyShares.NotRewardPool.selector);
        shares.withdrawPool(address(0));
        vm.prank(pool);
        shares.withdrawPool(address(0));
        assertEq(pool.balance, 0.01 ether, "pool");
    }

    function test_governance_limits() public {
        vm.prank(gov);
        vm.expectRevert(RoyaltyShares.FeesTooHigh.selector);
        shares.setFees(1_500, 501);
        vm.prank(gov);
        vm.expectRevert(RoyaltyShares.RegistryAlreadySet.selector);
        shares.setRegistry(alice);
        vm.prank(alice);
        vm.expectRevert(RoyaltyShares.OnlyDistributor.selector);
        shares.distribute{value: 1}(ID, 1);
    }

    /// Fuzz: any price and any two-holder split is divided to the wei.
    function testFuzz_payment_split_is_exact(uint128 price, uint16 aliceShares, uint16 feeBps, uint16 poolBps) public {
        price = uint128(bound(price, 1, 1e30));
        aliceShares = uint16(bound(aliceShares, 1, 9_999));
        feeBps = uint16(bound(feeBps, 0, 1_500));
        poolBps = uint16(bound(poolBps, 0, 500));
        vm.prank(gov);
        shares.setFees(feeBps, poolBps);
        uint256 id = newId(0xf00d);
        (address[] memory holders, uint16[] memory amounts) = split(creator, 10_000 - aliceShares, alice, aliceShares);
        Terms memory t = defaultTerms();
        t.price = price;
        registerSplit(registration(id, address(0), t), holders, amounts);
        vm.deal(bob, price);
        vm.prank(bob);
        access.buy{value: price}(id, price);
        (uint128 fees, uint128 poolAcc) = shares.accrued(address(0));
        uint256 total = shares.claimable(creator, id) + shares.claimable(alice, id) + fees + poolAcc;
        assertEq(total, price, "every wei accounted");
        assertEq(fees, uint256(price) * feeBps / 10_000, "fee");
        uint256 perShare = shares.revenuePerShare(id);
        assertEq(shares.claimable(alice, id), perShare * aliceShares, "alice pro rata");
        assertTrue(shares.claimable(creator, id) - perShare * amounts[0] < 10_000, "dust bounded");
    }

    /// Fuzz: a transfer at any point changes neither party's claimable revenue.
    function testFuzz_transfer_never_moves_earnings(uint16 amount, uint8 salesBefore, uint8 salesAfter) public {
        amount = uint16(bound(amount, 1, 8_000));
        uint256 before = bound(salesBefore, 0, 5);
        for (uint256 i = 0; i < before; ++i) {
            buy(bob, ID);
        }
        uint256 creatorBefore = shares.claimable(creator, ID);
        uint256 aliceBefore = shares.claimable(alice, ID);
        vm.prank(creator);
        shares.safeTransferFrom(creator, alice, ID, amount, "");
        assertEq(shares.claimable(creator, ID), creatorBefore, "seller unchanged");
        assertEq(shares.claimable(alice, ID), aliceBefore, "buyer unchanged");
        uint256 after_ = bound(salesAfter, 0, 5);
        for (uint256 i = 0; i < after_; ++i) {
            buy(bob, ID);
        }
        uint256 perSale = 0.965 ether / 10_000;
        assertEq(shares.claimable(alice, ID), perSale * amount * after_, "buyer earns only later sales");
    }
}
