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
    /// Domain prefix of content ids (format v2), written out here independently of the registry.
    bytes internal constant CONTENT_ID_DOMAIN = "ddrm/content-id/v2";

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

    /// The header digest each id made by `newId` was derived from.
    mapping(uint256 contentId => bytes32) internal digestOf;

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

    /// The content id the packager gives a header naming `who` with digest `digest`.
    function contentIdOf(address who, bytes32 digest) internal pure returns (uint256) {
        return uint256(sha256(abi.encodePacked(CONTENT_ID_DOMAIN, who, digest)));
    }

    /// A fresh content id of `who` (its header digest derived from `label`), remembered so that
    /// `registration` can give its digest.
    function newId(address who, uint256 label) internal returns (uint256 id) {
        bytes32 digest = keccak256(abi.encode("header", label));
        id = contentIdOf(who, digest);
        digestOf[id] = digest;
    }

    /// A fresh content id of `creator`.
    function newId(uint256 label) internal returns (uint256) {
        return newId(creator, label);
    }

    /// The key commitment of the content `id`: distinct per content, as real ciphertexts are.
    function commitmentOf(uint256 id) internal pure returns (bytes32) {
        return keccak256(abi.encode("key ciphertext", id));
    }

    function registration(uint256 id, address token, Terms memory terms)
        internal
        view
        returns (ContentRegistry.Registration memory r)
    {
        bytes32[] memory renderers = new bytes32[](1);
        renderers[0] = CAPSULE;
        r = ContentRegistry.Registration({
            contentId: id,
            headerDigest: digestOf[id],
            cid: "bafkreiexamplecid",
            keyCommitment: commitmentOf(id),
            renderers: renderers,
            paymentToken: token,
            terms: terms
        });
    }

    /// Holder and share arrays for a split of `amountA` to `a` and `amountB` to `b`.
    function split(address a, uint16 amountA, address b, uint16 amountB)
        internal
        pure
        returns (address[] memory holders, uint16[] memory amounts)
    {
        holders = new address[](2);
        holders[0] = a;
        holders[1] = b;
        amounts = new uint16[](2);
        amounts[0] = amountA;
        amounts[1] = amountB;
    }

    /// Holder and share arrays giving all 10,000 shares to `who`.
    function soleHolder(address who) internal pure returns (address[] memory holders, uint16[] memory amounts) {
        holders = new address[](1);
        holders[0] = who;
        amounts = new uint16[](1);
        amounts[0] = 10_000;
    }

    /// Registers `id` as `creator` with an 80/20 creator/producer split.
    function register(uint256 id, address token, Terms memory terms) internal {
        (address[] memory holders, uint16[] memory amounts) = split(creator, 8_000, producer, 2_000);
        registerSplit(registration(id, token, terms), holders, amounts);
    }

    /// A fresh content of `creator` (see `newId`), registered as `register` does.
    function registerNew(uint256 label, address token, Terms memory terms) internal returns (uint256 id) {
        id = newId(label);
        register(id, token, terms);
    }

    function registerSplit(uint256 id, address[] memory holders, uint16[] memory amounts) internal {
        registerSplit(registration(id, address(0), defaultTerms()), holders, amounts);
    }

    function registerSplit(ContentRegistry.Registration memory r, address[] memory holders, uint16[] memory amounts)
        internal
    {
        vm.prank(creator);
        registry.register(r, holders, amounts);
    }

    /// Sends `r` as `who`, who is to hold all of its shares.
    function registerAlone(address who, ContentRegistry.Registration memory r) internal {
        (address[] memory holders, uint16[] memory amounts) = soleHolder(who);
        vm.prank(who);
        registry.register(r, holders, amounts);
    }

    /// `creator` changes the terms of `id`.
    function setTerms(uint256 id, Terms memory terms) internal {
        vm.prank(creator);
        registry.setTerms(id, terms);
    }

    /// `who` buys an access token of `id` at the default price, naming it as their bound.
    function buy(address who, uint256 id) internal returns (uint256 edition) {
        vm.prank(who);
        edition = access.buy{value: 1 ether}(id, 1 ether);
    }

    /// Mints `amount` test dollars to `who`, who lets `spender` pull `allowance` of them.
    function fundUsd(address who, uint256 amount, address spender, uint256 allowance) internal {
        usd.mint(who, amount);
        vm.prank(who);
        usd.approve(spender, allowance);
    }
}

/// `Fixture` with one content, `ID`, registered by `creator` as `register` does (native ELA,
/// default terms).
abstract contract ContentFixture is Fixture {
    uint256 internal ID;

    function setUp() public virtual override {
        super.setUp();
        ID = registerNew(0xdd01, address(0), defaultTerms());
    }
}
