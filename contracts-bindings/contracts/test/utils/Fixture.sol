// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./TestBase.sol";
import {TestToken} from "./TestToken.sol";
import {Terms} from "../../src/Terms.sol";
import {CapsuleRegistry} from "../../src/CapsuleRegistry.sol";
import {LicenceNetworkRegistry} from "../../src/LicenceNetworkRegistry.sol";
import {RoyaltyShares} from "../../src/RoyaltyShares.sol";
import {ContentRegistry} from "../../src/ContentRegistry.sol";
import {Access} from "../../src/Access.sol";
import {Market} from "../../src/Market.sol";

/// Deploys and wires the whole system as `ddrm chain deploy` does: 2.5 % platform fee, 1 % pool.
abstract contract Fixture is TestBase {
    uint16 internal constant FEE_BPS = 250;
    uint16 internal constant POOL_BPS = 100;
    bytes32 internal constant CAPSULE = keccak256("player capsule v1");
    bytes32 internal constant KEY_COMMITMENT = keccak256("key ciphertext");

    address internal gov = address(0x60);
    address internal treasury = address(0x7E);
    address internal pool = address(0x9001);
    address internal creator = address(0xC0);
    address internal producer = address(0xB0);
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    CapsuleRegistry internal capsules;
    LicenceNetworkRegistry internal network;
    RoyaltyShares internal shares;
    ContentRegistry internal registry;
    Access internal access;
    Market internal market;
    TestToken internal usd;

    function setUp() public virtual {
        capsules = new CapsuleRegistry(gov);
        network = new LicenceNetworkRegistry(gov);
        shares = new RoyaltyShares(gov, treasury, FEE_BPS, POOL_BPS);
        registry = new ContentRegistry(gov, capsules, shares);
        access = new Access(gov, registry, shares);
        market = new Market(registry, shares, access);
        usd = new TestToken();
        vm.startPrank(gov);
        shares.setRegistry(address(registry));
        registry.setAccess(address(access));
        shares.setDistributor(address(access), true);
        shares.setDistributor(address(market), true);
        shares.setRewardPool(pool);
        capsules.setPublisher(gov, true);
        capsules.registerCapsule(CAPSULE, 1);
        vm.stopPrank();
        vm.deal(alice, 1_000 ether);
        vm.deal(bob, 1_000 ether);
    }

    function defaultTerms() internal pure returns (Terms memory) {
        return Terms({
            price: 1 ether,
            rentPrice: 0.1 ether,
            subscriptionPrice: 0.05 ether,
            rentPeriod: 1 days,
            subscriptionPeriod: 30 days,
            maxEditions: 0,
            resaleRoyaltyBps: 1_000
        });
    }

    function registration(uint256 id, address token, Terms memory terms)
        internal
        pure
        returns (ContentRegistry.Registration memory r)
    {
        bytes32[] memory renderers = new bytes32[](1);
        renderers[0] = CAPSULE;
        r = ContentRegistry.Registration({
            contentId: id,
            cid: "bafkreiexamplecid",
            keyCommitment: KEY_COMMITMENT,
            renderers: renderers,
            paymentToken: token,
            terms: terms
        });
    }

    /// Registers `id` as `creator` with an 80/20 creator/producer split.
    function register(uint256 id, address token, Terms memory terms) internal {
        address[] memory holders = new address[](2);
        holders[0] = creator;
        holders[1] = producer;
        uint16[] memory amounts = new uint16[](2);
        amounts[0] = 8_000;
        amounts[1] = 2_000;
        vm.prank(creator);
        registry.register(registration(id, token, terms), holders, amounts);
    }

    function registerSplit(uint256 id, address[] memory holders, uint16[] memory amounts) internal {
        vm.prank(creator);
        registry.register(registration(id, address(0), defaultTerms()), holders, amounts);
    }
}
