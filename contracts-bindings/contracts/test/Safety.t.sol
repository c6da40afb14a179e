// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, ContentFixture} from "./utils/Fixture.sol";
import {Terms} from "../src/Terms.sol";
import {Access} from "../src/Access.sol";
import {RoyaltyShares} from "../src/RoyaltyShares.sol";
import {LicenceNetworkRegistry} from "../src/LicenceNetworkRegistry.sol";
import {CapsuleRegistry} from "../src/CapsuleRegistry.sol";
import {Market} from "../src/Market.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// Buys, and when the access token arrives tries to buy again from inside the callback: the
/// callback names the token contract (the caller) and the content, so nothing is stored.
contract ReentrantBuyer {
    function attack(Access access, uint256 id) external payable {
        access.buy{value: 1 ether}(id, 1 ether);
    }

    function onERC1155Received(address, address, uint256 id, uint256, bytes calldata) external returns (bytes4) {
        Access(msg.sender).buy{value: 1 ether}(id, 1 ether);
        return this.onERC1155Received.selector;
    }

    receive() external payable {}
}

/// Holds royalty shares and tries to claim twice by re-entering from its receive().
contract ReentrantClaimer {
    RoyaltyShares internal shares;
    uint256 internal id;

    constructor(RoyaltyShares shares_, uint256 id_) {
        shares = shares_;
        id = id_;
    }

    function claim() external {
        shares.claim(id);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }

    receive() external payable {
        shares.claim(id);
    }
}

contract SafetyTest is ContentFixture {
    function test_reentering_buy_from_the_token_callback_fails() public {
        ReentrantBuyer b = new ReentrantBuyer();
        vm.deal(address(b), 5 ether);
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        b.attack{value: 1 ether}(access, ID);
    }

    function test_reentering_claim_cannot_double_pay() public {
        ReentrantClaimer c = new ReentrantClaimer(shares, ID);
        vm.prank(producer);
        shares.safeTransferFrom(producer, address(c), ID, 2_000, "");
        buy(alice, ID);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyShares.PaymentFailed.selector, address(c)));
        c.claim();
        assertEq(shares.claimable(address(c), ID), 0.193 ether, "still owed, nothing paid twice");
        assertEq(address(shares).balance, 1 ether, "funds intact");
    }

    function test_distribute_checks() public {
        vm.prank(gov);
        shares.setDistributor(alice, true);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyShares.UnknownContent.selector, 7));
        shares.distribute{value: 1}(7, 1);
        vm.prank(alice);
        vm.expectRevert(RoyaltyShares.WrongPayment.selector);
        shares.distribute{value: 1}(ID, 2);
        vm.prank(gov);
        shares.setDistributor(alice, false);
        vm.prank(alice);
        vm.expectRevert(RoyaltyShares.OnlyDistributor.selector);
        shares.distribute{value: 1}(ID, 1);
    }

    function test_sweep_unknown_content_and_erc20_vault() public {
        vm.expectRevert(abi.encodeWithSelector(RoyaltyShares.UnknownContent.selector, 7));
        shares.sweepVault(7);
        uint256 id = registerNew(0xdd02, address(usd), defaultTerms());
        usd.mint(shares.vaultOf(id), 1_000_000);
        assertEq(shares.sweepVault(id), 1_000_000, "swept tokens");
        // 965,000 to holders = 96 per share (x 10,000) + 5,000 dust to the creator.
        assertEq(shares.claimable(producer, id), 192_000, "2,000 shares x 96");
        assertEq(shares.sweepVault(id), 0, "empty vault sweeps nothing");
    }

    function test_erc20_subscription() public {
        Terms memory t = defaultTerms();
        t.subscriptionPrice = 3_000_000;
        uint256 id = registerNew(0xdd02, address(usd), t);
        fundUsd(bob, 3_000_000, address(access), 3_000_000);
        vm.prank(bob);
        access.subscribe(id, 1, 3_000_000, 30 days);
        assertTrue(access.hasAccess(bob, id), "subscribed");
        assertEq(usd.balanceOf(bob), 0, "paid");
        vm.prank(bob);
        vm.expectRevert(); // allowance used up
        access.subscribe(id, 1, 3_000_000, 30 days);
    }

    function test_governance_setters_guarded() public {
        vm.prank(gov);
        vm.expectRevert(RoyaltyShares.ZeroAddress.selector);
        shares.setTreasury(address(0));
        vm.prank(gov);
        shares.setTreasury(alice);
        assertEq(shares.treasury(), alice, "treasury");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(0x118cdaa7, alice));
        shares.setRewardPool(alice);
        vm.prank(gov);
        vm.expectRevert(CapsuleRegistry.ZeroValue.selector);
        capsules.setPublisher(address(0), true);
        vm.expectRevert(abi.encodeWithSelector(LicenceNetworkRegistry.NoSuchNode.selector, 0));
        network.node(0);
    }

    function test_claim_many_skips_empty_contents() public {
        uint256 id = registerNew(0xdd02, address(0), defaultTerms());
        buy(alice, ID);
        uint256[] memory ids = new uint256[](2);
        ids[0] = ID;
        ids[1] = id;
        vm.prank(producer);
        assertEq(shares.claimMany(ids), 0.193 ether, "only the content with revenue");
    }
}

/// An ERC-20 that burns 1 % of every transfer.
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 burned = value / 100;
            super._update(from, address(0), burned);
            value -= burned;
        }
        super._update(from, to, value);
    }
}

contract FeeOnTransferTest is Fixture {
    function test_fee_on_transfer_tokens_are_refused() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        uint256 id = registerNew(0xfee, address(fee), defaultTerms());
        fee.mint(alice, 10 ether);
        vm.startPrank(alice);
        fee.approve(address(access), type(uint256).max);
        fee.approve(address(market), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(Access.TokenNotReceived.selector, 1 ether, 0.99 ether));
        access.buy(id, 1 ether);
        vm.stopPrank();
        vm.prank(creator);
        shares.setApprovalForAll(address(market), true);
        vm.prank(creator);
        uint256 lid = market.list(address(shares), id, 100, 0.01 ether, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Market.TokenNotReceived.selector, 1 ether, 0.99 ether));
        market.buyListing(lid, 100, 0);
    }
}
