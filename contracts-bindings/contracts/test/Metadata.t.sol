// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {Fixture} from "./utils/Fixture.sol";
import {MetadataBase} from "../src/MetadataBase.sol";

/// Both ERC-1155s answer `uri(id)` with `{base}access/{id}` or `{base}royalty/{id}` once their
/// owner set a base, and "" before: what wallets and outside marketplaces resolve.
contract MetadataTest is Fixture {
    string internal constant BASE = "http://127.0.0.1:8080/v1/metadata/";

    function test_uri_is_empty_until_a_base_is_set() public view {
        assertEq(access.uri(1), "", "access uri without a base");
        assertEq(shares.uri(1), "", "royalty uri without a base");
        assertEq(access.metadataBase(), "", "access base");
    }

    function test_owner_sets_the_base_and_uri_follows() public {
        vm.expectEmit(address(access));
        emit MetadataBase.MetadataBaseSet(BASE);
        vm.prank(gov);
        access.setMetadataBase(BASE);
        vm.expectEmit(address(shares));
        emit MetadataBase.MetadataBaseSet(BASE);
        vm.prank(gov);
        shares.setMetadataBase(BASE);

        uint256 id = newId(0x3e7a);
        // The same template for every id: clients substitute {id} themselves.
        assertEq(access.uri(id), string.concat(BASE, "access/{id}"), "access uri");
        assertEq(shares.uri(id), string.concat(BASE, "royalty/{id}"), "royalty uri");
        assertEq(access.metadataBase(), BASE, "access base");
        assertEq(shares.metadataBase(), BASE, "royalty base");
        assertTrue(access.supportsInterface(type(IERC1155MetadataURI).interfaceId), "access metadata");
        assertTrue(shares.supportsInterface(type(IERC1155MetadataURI).interfaceId), "royalty metadata");

        // Clearing the base removes the metadata again.
        vm.prank(gov);
        shares.setMetadataBase("");
        assertEq(shares.uri(id), "", "royalty uri after clearing");
    }

    function test_only_the_owner_sets_the_base() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        access.setMetadataBase(BASE);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, creator));
        vm.prank(creator);
        shares.setMetadataBase(BASE);
        assertEq(access.uri(1), "", "access uri unchanged");
        assertEq(shares.uri(1), "", "royalty uri unchanged");
    }
}
