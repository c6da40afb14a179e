// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./utils/Fixture.sol";
import {Access} from "../src/Access.sol";
import {RoyaltyShares} from "../src/RoyaltyShares.sol";
import {ContentRegistry} from "../src/ContentRegistry.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// The events an indexer follows carry what it needs, exactly. The expected events are the
/// contracts' own declarations, which the indexer's bindings are generated from too.
contract EventsTest is Fixture {
    uint256 internal ID;

    function setUp() public override {
        super.setUp();
        ID = newId(0xdd01);
    }

    function test_registration_sale_rental_claim_and_transfer_events() public {
        vm.expectEmit(address(registry));
        emit ContentRegistry.ContentRegistered(ID, creator, address(0), commitmentOf(ID), "bafkreiexamplecid");
        register(ID, address(0), defaultTerms());

        vm.expectEmit(address(access));
        emit Access.Purchased(ID, alice, address(0), 1 ether, 1);
        vm.expectEmit(address(shares));
        // 1 ELA: fee 0.025, pool 0.01, 0.965 to holders = 0.0000965 ELA per share, no dust.
        emit RoyaltyShares.RevenueDistributed(
            ID, address(access), address(0), 1 ether, 0.025 ether, 0.01 ether, 96_500_000_000_000, 0
        );
        buy(alice, ID);

        vm.warp(1_000);
        vm.expectEmit(address(access));
        emit Access.TimedAccess(ID, bob, Access.Kind.Rental, 2, 0.2 ether, 1_000 + 2 days, false);
        vm.prank(bob);
        access.rent{value: 0.2 ether}(ID, 2, 0.1 ether, 1 days);

        vm.expectEmit(address(shares));
        emit IERC1155.TransferSingle(producer, producer, bob, ID, 500);
        vm.prank(producer);
        shares.safeTransferFrom(producer, bob, ID, 500, "");

        // Producer: 20 % of 0.965 + 20 % of 0.193 (the rental's holder share) = 0.193 + 0.0386.
        vm.expectEmit(address(shares));
        emit RoyaltyShares.Claimed(ID, producer, address(0), 0.2316 ether);
        vm.prank(producer);
        shares.claim(ID);
    }
}
