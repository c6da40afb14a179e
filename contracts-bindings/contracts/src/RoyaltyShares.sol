// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";
import {ERC165, IERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";
import {Ddrm} from "./Terms.sol";
import {RoyaltyVault} from "./RoyaltyVault.sol";
import {MetadataBase} from "./MetadataBase.sol";

/// Royalty shares: an ERC-1155 with 10,000 shares per content (token id = content id), and the
/// revenue accounting behind them.
///
/// Each sale's revenue, less the platform fee and the home-node reward-pool share, raises the
/// content's cumulative revenue per share; a holder's earnings are shares x (cumulative - their
/// checkpoint) plus what was settled before. A sale therefore costs O(1) gas whatever the number
/// of holders, and every balance change settles both parties first, so a trade never moves revenue
/// already earned. The division remainder (< 10,000 units per sale) is credited at once to the
/// content's dust recipient (its creator), so every unit paid in is claimable by someone.
///
/// A holder's shares, checkpoint and unclaimed earnings share one storage slot. The cumulative
/// revenue per share is stored plus one from registration on, so the content's first sale
/// updates a non-zero slot and costs the same as any later one.
contract RoyaltyShares is ERC165, IERC1155, IERC1155MetadataURI, Ownable2Step, MetadataBase, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// Highest platform fee plus pool share governance can set (20 %).
    uint256 public constant MAX_FEE_PLUS_POOL_BPS = 2_000;

    struct Holder {
        uint16 shares;
        uint120 checkpoint;
        uint120 owed;
    }

    struct ContentInfo {
        address paymentToken;
        bool registered;
    }

    struct Accrued {
        uint128 fees;
        uint128 pool;
    }

    mapping(uint256 contentId => mapping(address account => Holder)) private _holders;
    /// Cumulative revenue per share plus one, for registered contents (0 = not registered).
    mapping(uint256 contentId => uint256) private _revenuePerSharePlusOne;
    mapping(uint256 contentId => ContentInfo) private _contents;
    mapping(uint256 contentId => address) public dustRecipientOf;
    /// Platform fees and reward-pool shares accrued and not yet withdrawn, per payment token.
    mapping(address token => Accrued) public accrued;
    mapping(address account => mapping(address operator => bool)) public isApprovedForAll;
    mapping(address distributor => bool) public isDistributor;

    address public registry;
    address public treasury;
    address public rewardPool;
    uint16 public feeBps;
    uint16 public poolBps;
    bytes32 private immutable _vaultCodeHash;
    address private _sweeping;

    event RegistrySet(address registry);
    event DistributorSet(address indexed distributor, bool allowed);
    event FeesSet(uint16 feeBps, uint16 poolBps);
    event TreasurySet(address treasury);
    event RewardPoolSet(address rewardPool);
    /// One sale's revenue: `amount` in, of which `fee` and `pool` are set aside, `perShare` added
    /// to the cumulative revenue per share and `dust` credited to the dust recipient.
    event RevenueDistributed(
        uint256 indexed contentId,
        address indexed from,
        address indexed token,
        uint256 amount,
        uint256 fee,
        uint256 pool,
        uint256 perShare,
        uint256 dust
    );
    event Claimed(uint256 indexed contentId, address indexed account, address indexed token, uint256 amount);
    event FeesWithdrawn(address indexed token, address indexed treasury, uint256 amount);
    event PoolWithdrawn(address indexed token, address indexed rewardPool, uint256 amount);
    event VaultSwept(uint256 indexed contentId, address indexed vault, address indexed token, uint256 amount);

    error OnlyRegistry();
    error OnlyDistributor();
    error RegistryAlreadySet();
    error FeesTooHigh();
    error BadSplit();
    error UnknownContent(uint256 contentId);
    error AlreadyRegistered(uint256 contentId);
    error WrongPayment();
    error NothingToClaim(uint256 contentId);
    error InsufficientShares(address account, uint256 contentId, uint256 have, uint256 want);
    error NotApproved(address operator, address owner);
    error ZeroAddress();
    error LengthMismatch();
    error RevenueOverflow();
    error PaymentFailed(address to);
    error NotRewardPool();

    constructor(address owner_, address treasury_, uint16 feeBps_, uint16 poolBps_) Ownable(owner_) {
        if (treasury_ == address(0)) revert ZeroAddress();
        if (uint256(feeBps_) + poolBps_ > MAX_FEE_PLUS_POOL_BPS) revert FeesTooHigh();
        treasury = treasury_;
        feeBps = feeBps_;
        poolBps = poolBps_;
        _vaultCodeHash = keccak256(type(RoyaltyVault).creationCode);
        emit TreasurySet(treasury_);
        emit FeesSet(feeBps_, poolBps_);
    }

    /// Only the vault being swept sends plain native value here; anything else would be unaccounted.
    receive() external payable {
        if (msg.sender != _sweeping) revert WrongPayment();
    }

    // ---------------------------------------------------------------- governance

    /// Wires the content registry, once.
    function setRegistry(address registry_) external onlyOwner {
        if (registry != address(0)) revert RegistryAlreadySet();
        if (registry_ == address(0)) revert ZeroAddress();
        registry = registry_;
        emit RegistrySet(registry_);
    }

    function setDistributor(address distributor, bool allowed) external onlyOwner {
        isDistributor[distributor] = allowed;
        emit DistributorSet(distributor, allowed);
    }

    function setFees(uint16 feeBps_, uint16 poolBps_) external onlyOwner {
        if (uint256(feeBps_) + poolBps_ > MAX_FEE_PLUS_POOL_BPS) revert FeesTooHigh();
        feeBps = feeBps_;
        poolBps = poolBps_;
        emit FeesSet(feeBps_, poolBps_);
    }

    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function setRewardPool(address rewardPool_) external onlyOwner {
        rewardPool = rewardPool_;
        emit RewardPoolSet(rewardPool_);
    }

    // ---------------------------------------------------------------- minting and revenue

    /// Mints the 10,000 shares of a newly registered content. Only the content registry calls this.
    function mintInitial(
        uint256 contentId,
        address paymentToken,
        address dustRecipient,
        address[] calldata holders,
        uint16[] calldata amounts
    ) external {
        if (msg.sender != registry) revert OnlyRegistry();
        if (_contents[contentId].registered) revert AlreadyRegistered(contentId);
        if (holders.length != amounts.length || holders.length == 0) revert BadSplit();
        if (dustRecipient == address(0)) revert ZeroAddress();
        _contents[contentId] = ContentInfo(paymentToken, true);
        _revenuePerSharePlusOne[contentId] = 1;
        dustRecipientOf[contentId] = dustRecipient;
        uint256 total;
        for (uint256 i = 0; i < holders.length; ++i) {
            address to = holders[i];
            uint16 amount = amounts[i];
            if (to == address(0) || amount == 0) revert BadSplit();
            total += amount;
            _holders[contentId][to].shares += amount;
            emit TransferSingle(msg.sender, address(0), to, contentId, amount);
        }
        if (total != Ddrm.TOTAL_SHARES) revert BadSplit();
        for (uint256 i = 0; i < holders.length; ++i) {
            ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), holders[i], contentId, amounts[i], "");
        }
    }

    /// Accounts one sale's revenue. Native: `msg.value == amount`. ERC-20: the distributor has
    /// already transferred `amount` of the content's token here.
    function distribute(uint256 contentId, uint256 amount) external payable {
        if (!isDistributor[msg.sender]) revert OnlyDistributor();
        ContentInfo memory info = _contents[contentId];
        if (!info.registered) revert UnknownContent(contentId);
        if (info.paymentToken == address(0) ? msg.value != amount : msg.value != 0) revert WrongPayment();
        _distribute(contentId, info.paymentToken, amount, msg.sender);
    }

    function _distribute(uint256 contentId, address token, uint256 amount, address from) private {
        uint256 fee = amount * feeBps / Ddrm.BPS;
        uint256 pool = amount * poolBps / Ddrm.BPS;
        uint256 net = amount - fee - pool;
        uint256 perShare = net / Ddrm.TOTAL_SHARES;
        uint256 dust = net - perShare * Ddrm.TOTAL_SHARES;
        if (fee != 0 || pool != 0) {
            Accrued storage a = accrued[token];
            a.fees += fee.toUint128();
            a.pool += pool.toUint128();
        }
        if (perShare != 0) {
            // Registered, so the stored value is the cumulative plus one (>= 1).
            uint256 storedPlusOne = _revenuePerSharePlusOne[contentId] + perShare;
            if (storedPlusOne - 1 > type(uint120).max) revert RevenueOverflow();
            _revenuePerSharePlusOne[contentId] = storedPlusOne;
        }
        if (dust != 0) {
            Holder storage h = _holders[contentId][dustRecipientOf[contentId]];
            h.owed = (h.owed + dust).toUint120();
        }
        emit RevenueDistributed(contentId, from, token, amount, fee, pool, perShare, dust);
    }

    /// The content's EIP-2981 royalty receiver (a CREATE2 address, deployed on first sweep).
    function vaultOf(uint256 contentId) public view returns (address) {
        return Create2.computeAddress(bytes32(contentId), _vaultCodeHash);
    }

    /// Turns whatever outside marketplaces paid into the content's vault into revenue. Anyone may call.
    function sweepVault(uint256 contentId) external nonReentrant returns (uint256 amount) {
        ContentInfo memory info = _contents[contentId];
        if (!info.registered) revert UnknownContent(contentId);
        address vault = vaultOf(contentId);
        if (vault.code.length == 0) {
            new RoyaltyVault{salt: bytes32(contentId)}();
        }
        _sweeping = vault;
        amount = RoyaltyVault(payable(vault)).sweep(info.paymentToken);
        _sweeping = address(0);
        emit VaultSwept(contentId, vault, info.paymentToken, amount);
        if (amount != 0) _distribute(contentId, info.paymentToken, amount, vault);
    }

    // ---------------------------------------------------------------- claims (never paused)

    /// Revenue `account` can claim now for `contentId`, in the content's payment token.
    function claimable(address account, uint256 contentId) public view returns (uint256) {
        Holder memory h = _holders[contentId][account];
        return h.owed + uint256(h.shares) * (revenuePerShare(contentId) - h.checkpoint);
    }

    /// Pays the caller everything it earned from `contentId`.
    function claim(uint256 contentId) external nonReentrant returns (uint256 amount) {
        amount = _claim(contentId);
        if (amount == 0) revert NothingToClaim(contentId);
    }

    /// Claims several contents in one transaction; contents with nothing to claim are skipped.
    function claimMany(uint256[] calldata contentIds) external nonReentrant returns (uint256 total) {
        for (uint256 i = 0; i < contentIds.length; ++i) {
            total += _claim(contentIds[i]);
        }
    }

    function _claim(uint256 contentId) private returns (uint256 amount) {
        uint256 cumulative = revenuePerShare(contentId);
        Holder memory m = _holders[contentId][msg.sender];
        amount = m.owed + uint256(m.shares) * (cumulative - m.checkpoint);
        if (amount == 0) return 0;
        // forge-lint: disable-next-line(unsafe-typecast) cumulative <= uint120.max (checked in _distribute)
        _holders[contentId][msg.sender] = Holder({shares: m.shares, checkpoint: uint120(cumulative), owed: 0});
        address token = _contents[contentId].paymentToken;
        emit Claimed(contentId, msg.sender, token, amount);
        _pay(token, msg.sender, amount);
    }

    /// Sends accrued platform fees to the treasury. Anyone may trigger it.
    function withdrawFees(address token) external nonReentrant returns (uint256 amount) {
        amount = accrued[token].fees;
        accrued[token].fees = 0;
        address to = treasury;
        emit FeesWithdrawn(token, to, amount);
        _pay(token, to, amount);
    }

    /// The home-node reward pool pulls its accrued share of sales.
    function withdrawPool(address token) external nonReentrant returns (uint256 amount) {
        if (msg.sender != rewardPool || msg.sender == address(0)) revert NotRewardPool();
        amount = accrued[token].pool;
        accrued[token].pool = 0;
        emit PoolWithdrawn(token, msg.sender, amount);
        _pay(token, msg.sender, amount);
    }

    function _pay(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert PaymentFailed(to);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    // ---------------------------------------------------------------- views

    /// The content's cumulative revenue per share since registration (0 for unknown contents).
    function revenuePerShare(uint256 contentId) public view returns (uint256) {
        uint256 storedPlusOne = _revenuePerSharePlusOne[contentId];
        return storedPlusOne == 0 ? 0 : storedPlusOne - 1;
    }

    function paymentTokenOf(uint256 contentId) external view returns (address) {
        return _contents[contentId].paymentToken;
    }

    function isRegistered(uint256 contentId) external view returns (bool) {
        return _contents[contentId].registered;
    }

    function totalSupply(uint256 contentId) external view returns (uint256) {
        return _contents[contentId].registered ? Ddrm.TOTAL_SHARES : 0;
    }

    /// A holder's raw accounting record (shares, checkpoint, settled-unclaimed), for indexers and tests.
    function holder(uint256 contentId, address account) external view returns (Holder memory) {
        return _holders[contentId][account];
    }

    // ---------------------------------------------------------------- ERC-1155

    function balanceOf(address account, uint256 id) public view returns (uint256) {
        return _holders[id][account].shares;
    }

    function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids)
        external
        view
        returns (uint256[] memory balances)
    {
        if (accounts.length != ids.length) revert LengthMismatch();
        balances = new uint256[](accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            balances[i] = _holders[ids[i]][accounts[i]].shares;
        }
    }

    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ZeroAddress();
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external {
        _checkOperator(from);
        _move(from, to, id, value);
        emit TransferSingle(msg.sender, from, to, id, value);
        ERC1155Utils.checkOnERC1155Received(msg.sender, from, to, id, value, data);
    }

    function safeBatchTransferFrom(
        address from,
        address to,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) external {
        if (ids.length != values.length) revert LengthMismatch();
        _checkOperator(from);
        for (uint256 i = 0; i < ids.length; ++i) {
            _move(from, to, ids[i], values[i]);
        }
        emit TransferBatch(msg.sender, from, to, ids, values);
        ERC1155Utils.checkOnERC1155BatchReceived(msg.sender, from, to, ids, values, data);
    }

    /// The metadata of royalty share `id`: `{base}royalty/{id}` (see `MetadataBase`).
    function uri(uint256) external view returns (string memory) {
        return _metadataUri("royalty/{id}");
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC165, IERC165) returns (bool) {
        return interfaceId == type(IERC1155).interfaceId || interfaceId == type(IERC1155MetadataURI).interfaceId
            || super.supportsInterface(interfaceId);
    }

    function _checkOperator(address from) private view {
        if (from != msg.sender && !isApprovedForAll[from][msg.sender]) revert NotApproved(msg.sender, from);
    }

    /// Settles both parties at the current revenue per share, then moves the shares.
    function _move(address from, address to, uint256 id, uint256 value) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 cumulative = revenuePerShare(id);
        Holder memory s = _holders[id][from];
        if (s.shares < value) revert InsufficientShares(from, id, s.shares, value);
        if (from == to) return;
        // Casts are safe: value <= s.shares, a content has 10,000 shares in all (fits uint16), and
        // cumulative <= uint120.max (checked in _distribute).
        _holders[id][from] = Holder({
            // forge-lint: disable-next-line(unsafe-typecast)
            shares: uint16(s.shares - value),
            // forge-lint: disable-next-line(unsafe-typecast)
            checkpoint: uint120(cumulative),
            owed: (s.owed + uint256(s.shares) * (cumulative - s.checkpoint)).toUint120()
        });
        Holder memory d = _holders[id][to];
        _holders[id][to] = Holder({
            // forge-lint: disable-next-line(unsafe-typecast)
            shares: uint16(d.shares + value),
            // forge-lint: disable-next-line(unsafe-typecast)
            checkpoint: uint120(cumulative),
            owed: (d.owed + uint256(d.shares) * (cumulative - d.checkpoint)).toUint120()
        });
    }
}
