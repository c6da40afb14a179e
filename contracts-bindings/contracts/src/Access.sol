// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Terms, Ddrm} from "./Terms.sol";
import {ContentRegistry} from "./ContentRegistry.sol";
import {RoyaltyShares} from "./RoyaltyShares.sol";
import {MetadataBase} from "./MetadataBase.sol";

/// Access to contents: perpetual access tokens (ERC-1155, token id = content id, resellable with an
/// EIP-2981 royalty) and timed access (rental or subscription, one expiry per account and
/// content). Every payment goes straight to RoyaltyShares as revenue of the content; excess native
/// payment is refunded. `hasAccess` is the view the licence network trusts.
///
/// The emergency pause stops every sale here and in the Market; claims live in RoyaltyShares and
/// are never paused.
///
/// The creator may change the terms at any moment (`ContentRegistry.setTerms`), including while a
/// purchase is pending. So every sale takes the bounds the buyer saw: a highest price (per token
/// or per period, in the payment token's units) and, for timed access, a shortest period. A sale
/// whose current terms fall outside them reverts instead of charging more (up to a standing
/// ERC-20 allowance) or selling less time than the buyer agreed to.
contract Access is ERC1155, IERC2981, Ownable2Step, MetadataBase, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    enum Kind {
        Rental,
        Subscription
    }

    ContentRegistry public immutable registry;
    RoyaltyShares public immutable shares;

    /// The edition counter: perpetual access tokens sold per content, plus one once the registry
    /// initialised it at registration (0 = never initialised, none sold). Stored offset so the
    /// content's first sale updates a non-zero slot and costs the same as any later one.
    mapping(uint256 contentId => uint256) private _editionsSoldPlusOne;
    mapping(address account => mapping(uint256 contentId => uint64)) private _expiry;

    event Purchased(
        uint256 indexed contentId, address indexed buyer, address indexed token, uint256 paid, uint256 edition
    );
    /// Timed access bought: `renewed` when it extended an unexpired one.
    event TimedAccess(
        uint256 indexed contentId,
        address indexed account,
        Kind indexed kind,
        uint32 periods,
        uint256 paid,
        uint64 expiresAt,
        bool renewed
    );

    error NotForSale(uint256 contentId);
    error SoldOut(uint256 contentId, uint256 maxEditions);
    error ZeroPeriods();
    error InsufficientPayment(uint256 required, uint256 sent);
    error UnexpectedNativeValue();
    error TokenNotReceived(uint256 expected, uint256 received);
    error RefundFailed();
    error OnlyRegistry();
    /// The current price (of one token or one period) is above the highest the buyer named.
    error PriceAboveMax(uint256 price, uint256 maxPrice);
    /// The current period is shorter than the shortest the buyer named.
    error PeriodBelowMin(uint32 period, uint32 minPeriod);

    constructor(address owner_, ContentRegistry registry_, RoyaltyShares shares_) ERC1155("") Ownable(owner_) {
        registry = registry_;
        shares = shares_;
    }

    /// The metadata of access token `id`: `{base}access/{id}` (see `MetadataBase`).
    function uri(uint256) public view override returns (string memory) {
        return _metadataUri("access/{id}");
    }

    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }

    /// Called by the content registry when `contentId` is registered: makes the edition counter's
    /// slot non-zero, moving its one-time storage cost from the first sale to the registration.
    function initContent(uint256 contentId) external {
        if (msg.sender != address(registry)) revert OnlyRegistry();
        if (_editionsSoldPlusOne[contentId] == 0) _editionsSoldPlusOne[contentId] = 1;
    }

    /// Buys one perpetual access token to `contentId` for the caller. Reverts with `PriceAboveMax`
    /// when the price is above `maxPrice`, the price the buyer saw: a price raised under a pending
    /// purchase is never charged.
    function buy(uint256 contentId, uint256 maxPrice)
        external
        payable
        nonReentrant
        whenNotPaused
        returns (uint256 edition)
    {
        (address token, Terms memory t) = registry.saleInfo(contentId);
        if (t.price == 0) revert NotForSale(contentId);
        if (t.price > maxPrice) revert PriceAboveMax(t.price, maxPrice);
        uint256 soldPlusOne = _editionsSoldPlusOne[contentId];
        edition = soldPlusOne == 0 ? 1 : soldPlusOne;
        if (t.maxEditions != 0 && edition > t.maxEditions) revert SoldOut(contentId, t.maxEditions);
        _editionsSoldPlusOne[contentId] = edition + 1;
        emit Purchased(contentId, msg.sender, token, t.price, edition);
        _mint(msg.sender, contentId, 1, "");
        _collect(contentId, token, t.price);
    }

    /// Rents `contentId` for `periods` rental periods (extending an unexpired rental or
    /// subscription). Reverts with `PriceAboveMax` when one period costs more than `maxPrice`, and
    /// with `PeriodBelowMin` when a period is shorter than `minPeriod` seconds: the terms the buyer
    /// saw bound what a pending rental pays and gets.
    function rent(uint256 contentId, uint32 periods, uint256 maxPrice, uint32 minPeriod)
        external
        payable
        nonReentrant
        whenNotPaused
        returns (uint64)
    {
        (address token, Terms memory t) = registry.saleInfo(contentId);
        if (t.rentPrice == 0) revert NotForSale(contentId);
        return _timed(contentId, token, Kind.Rental, t.rentPrice, t.rentPeriod, periods, maxPrice, minPeriod);
    }

    /// Subscribes to `contentId` for `periods` periods: before expiry this extends the current
    /// expiry, after it the subscription restarts from now. Bounded like `rent`: at most
    /// `maxPrice` per period, periods of at least `minPeriod` seconds.
    function subscribe(uint256 contentId, uint32 periods, uint256 maxPrice, uint32 minPeriod)
        external
        payable
        nonReentrant
        whenNotPaused
        returns (uint64)
    {
        (address token, Terms memory t) = registry.saleInfo(contentId);
        if (t.subscriptionPrice == 0) revert NotForSale(contentId);
        return _timed(
            contentId, token, Kind.Subscription, t.subscriptionPrice, t.subscriptionPeriod, periods, maxPrice, minPeriod
        );
    }

    function _timed(
        uint256 contentId,
        address token,
        Kind kind,
        uint256 unitPrice,
        uint32 period,
        uint32 periods,
        uint256 maxPrice,
        uint32 minPeriod
    ) private returns (uint64 newExpiry) {
        if (periods == 0) revert ZeroPeriods();
        if (unitPrice > maxPrice) revert PriceAboveMax(unitPrice, maxPrice);
        if (period < minPeriod) revert PeriodBelowMin(period, minPeriod);
        uint64 current = _expiry[msg.sender][contentId];
        bool renewed = current > block.timestamp;
        uint256 start = renewed ? current : block.timestamp;
        // forge-lint: disable-next-line(unsafe-typecast) < 2^64: a timestamp plus at most 2^64 seconds
        newExpiry = uint64(start + uint256(period) * periods);
        _expiry[msg.sender][contentId] = newExpiry;
        uint256 price = unitPrice * periods;
        emit TimedAccess(contentId, msg.sender, kind, periods, price, newExpiry, renewed);
        _collect(contentId, token, price);
    }

    /// Takes `price` from the caller into RoyaltyShares as revenue of `contentId`; refunds excess ELA.
    function _collect(uint256 contentId, address token, uint256 price) private {
        if (token == address(0)) {
            if (msg.value < price) revert InsufficientPayment(price, msg.value);
            shares.distribute{value: price}(contentId, price);
            uint256 excess = msg.value - price;
            if (excess != 0) {
                (bool ok,) = msg.sender.call{value: excess}("");
                if (!ok) revert RefundFailed();
            }
        } else {
            if (msg.value != 0) revert UnexpectedNativeValue();
            IERC20 erc20 = IERC20(token);
            uint256 before = erc20.balanceOf(address(shares));
            erc20.safeTransferFrom(msg.sender, address(shares), price);
            uint256 received = erc20.balanceOf(address(shares)) - before;
            if (received != price) revert TokenNotReceived(price, received);
            shares.distribute(contentId, price);
        }
    }

    // ---------------------------------------------------------------- views

    /// Perpetual access tokens sold for `contentId` (the edition counter).
    function editionsSold(uint256 contentId) external view returns (uint256) {
        uint256 soldPlusOne = _editionsSoldPlusOne[contentId];
        return soldPlusOne == 0 ? 0 : soldPlusOne - 1;
    }

    /// True when `account` holds a perpetual access token or unexpired timed access to `contentId`.
    function hasAccess(address account, uint256 contentId) external view returns (bool) {
        return balanceOf(account, contentId) != 0 || _expiry[account][contentId] > block.timestamp;
    }

    /// When timed access of `account` to `contentId` ends (unix seconds; 0 if never bought).
    /// Access holds while `block.timestamp < expiresAt`.
    function expiresAt(address account, uint256 contentId) external view returns (uint64) {
        return _expiry[account][contentId];
    }

    /// EIP-2981: resale royalty of an access token, payable to the content's royalty vault.
    function royaltyInfo(uint256 tokenId, uint256 salePrice) external view returns (address, uint256) {
        Terms memory t = registry.termsOf(tokenId);
        return (shares.vaultOf(tokenId), salePrice * t.resaleRoyaltyBps / Ddrm.BPS);
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, IERC165) returns (bool) {
        return interfaceId == type(IERC2981).interfaceId || super.supportsInterface(interfaceId);
    }
}
