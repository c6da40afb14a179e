// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Terms, Ddrm} from "./Terms.sol";
import {ContentRegistry} from "./ContentRegistry.sol";
import {RoyaltyShares} from "./RoyaltyShares.sol";
import {Access} from "./Access.sol";

/// Secondary market for royalty shares and perpetual access tokens of a content, priced in the
/// content's payment token.
///
/// Listings are fixed-price and fill partially; the seller keeps the tokens (and, for royalty
/// shares, keeps earning) until a fill moves them, so the market only needs the seller's ERC-1155
/// approval. Offers escrow the buyer's payment here until accepted or cancelled. Resales of access
/// tokens pay the content's resale royalty to its royalty holders. Sellers' proceeds and refunds of
/// cancelled offers are pull payments (`withdraw`). Sales stop while Access is paused; cancelling
/// and withdrawing never do.
///
/// The creator may raise the resale royalty (up to 50 %) at any moment, which cuts what the seller
/// of an access token receives. So each fill names the highest royalty its sender accepts
/// (`maxRoyaltyBps`), and a listing also records the highest royalty its seller accepted when
/// listing: a fill reverts with `RoyaltyAboveMax` when the current royalty exceeds either. Prices
/// need no bound: a listing's or an offer's unit price never changes.
contract Market is ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct Order {
        address maker;
        uint96 amount;
        address collection;
        /// Listings: the highest resale royalty the seller accepts. Offers: unused (0); the seller
        /// names it when accepting.
        uint16 maxRoyaltyBps;
        uint128 unitPrice;
        uint256 contentId;
    }

    ContentRegistry public immutable registry;
    RoyaltyShares public immutable shares;
    Access public immutable access;

    mapping(uint256 listingId => Order) public listings;
    mapping(uint256 offerId => Order) public offers;
    uint256 public nextListingId = 1;
    uint256 public nextOfferId = 1;
    /// Pull payments owed to sellers and to buyers of cancelled offers, per token.
    mapping(address account => mapping(address token => uint256)) public withdrawable;

    event Listed(
        uint256 indexed listingId,
        address indexed seller,
        address indexed collection,
        uint256 contentId,
        uint256 amount,
        uint256 unitPrice
    );
    event ListingCancelled(uint256 indexed listingId);
    event OfferMade(
        uint256 indexed offerId,
        address indexed buyer,
        address indexed collection,
        uint256 contentId,
        uint256 amount,
        uint256 unitPrice
    );
    event OfferCancelled(uint256 indexed offerId, uint256 refunded);
    /// A trade: `amount` tokens of `contentId` in `collection` for `price`, of which `royalty`
    /// went to the royalty holders. `listingId` or `offerId` is zero.
    event Traded(
        uint256 indexed listingId,
        uint256 indexed offerId,
        address indexed collection,
        uint256 contentId,
        address seller,
        address buyer,
        uint256 amount,
        uint256 price,
        uint256 royalty
    );
    event Withdrawn(address indexed account, address indexed token, uint256 amount);

    error Paused();
    error UnknownCollection(address collection);
    error BadOrder();
    error NotMaker();
    error NotEnough(uint256 available, uint256 wanted);
    error NotApproved();
    error InsufficientPayment(uint256 required, uint256 sent);
    error UnexpectedNativeValue();
    error PaymentFailed();
    error TokenNotReceived(uint256 expected, uint256 received);
    /// The content's resale royalty is above the highest the seller or the filler accepted.
    error RoyaltyAboveMax(uint256 royaltyBps, uint256 maxRoyaltyBps);

    constructor(ContentRegistry registry_, RoyaltyShares shares_, Access access_) {
        registry = registry_;
        shares = shares_;
        access = access_;
    }

    modifier whenSelling() {
        if (access.paused()) revert Paused();
        _;
    }

    /// Lists `amount` tokens of `contentId` at `unitPrice` each. The seller must have approved
    /// this market on `collection` and hold the tokens. `maxRoyaltyBps` is the highest resale
    /// royalty the seller accepts on fills of an access-token listing (it must cover today's, or
    /// this reverts with `RoyaltyAboveMax`); fills revert while the royalty is above it.
    function list(address collection, uint256 contentId, uint96 amount, uint128 unitPrice, uint16 maxRoyaltyBps)
        external
        whenSelling
        returns (uint256 listingId)
    {
        _checkOrder(collection, contentId, amount, unitPrice);
        _royaltyBps(collection, contentId, maxRoyaltyBps);
        if (IERC1155(collection).balanceOf(msg.sender, contentId) < amount) {
            revert NotEnough(IERC1155(collection).balanceOf(msg.sender, contentId), amount);
        }
        if (!IERC1155(collection).isApprovedForAll(msg.sender, address(this))) revert NotApproved();
        listingId = nextListingId++;
        listings[listingId] = Order(msg.sender, amount, collection, maxRoyaltyBps, unitPrice, contentId);
        emit Listed(listingId, msg.sender, collection, contentId, amount, unitPrice);
    }

    function cancelListing(uint256 listingId) external {
        if (listings[listingId].maker != msg.sender) revert NotMaker();
        delete listings[listingId];
        emit ListingCancelled(listingId);
    }

    /// Buys `amount` tokens from a listing (partial fills allowed); excess ELA is refunded.
    /// Reverts with `RoyaltyAboveMax` when the resale royalty of an access-token listing is above
    /// `maxRoyaltyBps` (the royalty the buyer saw) or above the seller's bound in the listing, so a
    /// royalty raised under a pending fill never cuts the seller's proceeds.
    function buyListing(uint256 listingId, uint96 amount, uint16 maxRoyaltyBps)
        external
        payable
        nonReentrant
        whenSelling
    {
        Order memory o = listings[listingId];
        if (o.maker == address(0) || amount == 0) revert BadOrder();
        if (amount > o.amount) revert NotEnough(o.amount, amount);
        uint16 bps = _royaltyBps(o.collection, o.contentId, maxRoyaltyBps);
        if (bps > o.maxRoyaltyBps) revert RoyaltyAboveMax(bps, o.maxRoyaltyBps);
        listings[listingId].amount = o.amount - amount;
        uint256 price = uint256(o.unitPrice) * amount;
        address token = registry.paymentTokenOf(o.contentId);
        // Take the payment into the market first; refund any excess at the end.
        if (token == address(0)) {
            if (msg.value < price) revert InsufficientPayment(price, msg.value);
        } else {
            if (msg.value != 0) revert UnexpectedNativeValue();
            _pullToken(token, price);
        }
        uint256 royalty = _settle(o, token, price, bps, o.maker);
        emit Traded(listingId, 0, o.collection, o.contentId, o.maker, msg.sender, amount, price, royalty);
        IERC1155(o.collection).safeTransferFrom(o.maker, msg.sender, o.contentId, amount, "");
        if (token == address(0) && msg.value > price) {
            (bool ok,) = msg.sender.call{value: msg.value - price}("");
            if (!ok) revert PaymentFailed();
        }
    }

    /// Offers to buy `amount` tokens at `unitPrice` each, escrowing the full price here.
    function makeOffer(address collection, uint256 contentId, uint96 amount, uint128 unitPrice)
        external
        payable
        nonReentrant
        whenSelling
        returns (uint256 offerId)
    {
        _checkOrder(collection, contentId, amount, unitPrice);
        uint256 price = uint256(unitPrice) * amount;
        address token = registry.paymentTokenOf(contentId);
        if (token == address(0)) {
            if (msg.value != price) revert InsufficientPayment(price, msg.value);
        } else {
            if (msg.value != 0) revert UnexpectedNativeValue();
            _pullToken(token, price);
        }
        offerId = nextOfferId++;
        offers[offerId] = Order(msg.sender, amount, collection, 0, unitPrice, contentId);
        emit OfferMade(offerId, msg.sender, collection, contentId, amount, unitPrice);
    }

    /// Cancels an offer; the unfilled escrow becomes withdrawable by its buyer.
    function cancelOffer(uint256 offerId) external {
        Order memory o = offers[offerId];
        if (o.maker != msg.sender) revert NotMaker();
        delete offers[offerId];
        uint256 refund = uint256(o.unitPrice) * o.amount;
        withdrawable[msg.sender][registry.paymentTokenOf(o.contentId)] += refund;
        emit OfferCancelled(offerId, refund);
    }

    /// Sells `amount` of the caller's tokens into an offer (partial fills allowed). Reverts with
    /// `RoyaltyAboveMax` when the resale royalty of an access-token offer is above
    /// `maxRoyaltyBps`, the royalty the seller saw.
    function acceptOffer(uint256 offerId, uint96 amount, uint16 maxRoyaltyBps) external nonReentrant whenSelling {
        Order memory o = offers[offerId];
        if (o.maker == address(0) || amount == 0) revert BadOrder();
        if (amount > o.amount) revert NotEnough(o.amount, amount);
        uint16 bps = _royaltyBps(o.collection, o.contentId, maxRoyaltyBps);
        offers[offerId].amount = o.amount - amount;
        uint256 price = uint256(o.unitPrice) * amount;
        address token = registry.paymentTokenOf(o.contentId);
        uint256 royalty = _settle(o, token, price, bps, msg.sender);
        emit Traded(0, offerId, o.collection, o.contentId, msg.sender, o.maker, amount, price, royalty);
        IERC1155(o.collection).safeTransferFrom(msg.sender, o.maker, o.contentId, amount, "");
    }

    /// Pays out the caller's proceeds and refunds in `token` (address(0) = ELA). Never paused.
    function withdraw(address token) external nonReentrant returns (uint256 amount) {
        amount = withdrawable[msg.sender][token];
        withdrawable[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, amount);
        if (amount == 0) return 0;
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert PaymentFailed();
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    /// The resale royalty in basis points that a trade of `collection` pays (0 for royalty shares),
    /// reverting with `RoyaltyAboveMax` when it is above `maxBps`.
    function _royaltyBps(address collection, uint256 contentId, uint16 maxBps) private view returns (uint16 bps) {
        if (collection != address(access)) return 0;
        Terms memory t = registry.termsOf(contentId);
        bps = t.resaleRoyaltyBps;
        if (bps > maxBps) revert RoyaltyAboveMax(bps, maxBps);
    }

    /// Sends the resale royalty (`bps` of `price`) to RoyaltyShares and credits the seller the rest.
    function _settle(Order memory o, address token, uint256 price, uint16 bps, address seller)
        private
        returns (uint256 royalty)
    {
        royalty = price * bps / Ddrm.BPS;
        withdrawable[seller][token] += price - royalty;
        if (royalty != 0) {
            if (token == address(0)) {
                shares.distribute{value: royalty}(o.contentId, royalty);
            } else {
                IERC20(token).safeTransfer(address(shares), royalty);
                shares.distribute(o.contentId, royalty);
            }
        }
    }

    /// Takes `amount` of an ERC-20 from the caller, refusing tokens that deliver less than sent
    /// (fee-on-transfer), which would leave the market owing more than it holds.
    function _pullToken(address token, uint256 amount) private {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert TokenNotReceived(amount, received);
    }

    function _checkOrder(address collection, uint256 contentId, uint96 amount, uint128 unitPrice) private view {
        if (collection != address(shares) && collection != address(access)) revert UnknownCollection(collection);
        if (amount == 0 || unitPrice == 0 || !registry.isRegistered(contentId)) revert BadOrder();
    }
}
