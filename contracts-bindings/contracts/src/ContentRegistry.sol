// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Terms, Ddrm} from "./Terms.sol";
import {CapsuleRegistry} from "./CapsuleRegistry.sol";
import {RoyaltyShares} from "./RoyaltyShares.sol";

/// The part of Access the registry calls at registration.
interface IEditionCounter {
    function initContent(uint256 contentId) external;
}

/// The content registry: one record per packaged `.ddrm`, keyed by its 256-bit content id (also
/// the token id of its access tokens and royalty shares). Registration stores the IPFS CID, the
/// commitment to the key ciphertext, the renderer capsules allowed to play it, the payment token
/// and Access terms, and mints the initial Royalty split. Only the creator changes terms or
/// renderers later; the payment token is fixed for life, so every revenue of a content is in one
/// token.
///
/// Registration also initialises the content's edition counter in Access (once `setAccess` wired
/// it), so that the content's first sale costs the same gas as later ones.
///
/// A content id is bound to its creator: it must equal `contentIdFor(creator, headerDigest)`, the
/// id the packager (format v2) computes from the creator named in the `.ddrm` header and the
/// digest of the rest of that header. Only that creator can register it, so neither a
/// front-runner copying the creator's pending calldata nor anyone holding the file can take its
/// revenue.
///
/// A key commitment is bound to one content per creator (`contentOfCommitment`). Licence nodes
/// refuse a key ciphertext whose commitment maps, for the creator it is labelled with, to another
/// content id; so no second "alias" content of the same creator can unlock another content's key,
/// and another account's alias is refused because the ciphertext is not labelled with its
/// address. Uniqueness is per creator, not global, on purpose: a global map would let a stranger
/// who saw a commitment (on chain, in a pending transaction or in a shared file) register it first
/// under a throwaway id and so block the real creator's registration for good.
contract ContentRegistry is Ownable2Step {
    struct Registration {
        /// Must be `contentIdFor(msg.sender, headerDigest)`.
        uint256 contentId;
        /// The digest the packager computed over the `.ddrm` header (everything but the creator).
        bytes32 headerDigest;
        string cid;
        bytes32 keyCommitment;
        bytes32[] renderers;
        /// address(0) = native ELA; otherwise an ERC-20 contract.
        address paymentToken;
        Terms terms;
    }

    struct Content {
        address creator;
        uint64 registeredAt;
        address paymentToken;
        bytes32 keyCommitment;
        Terms terms;
        string cid;
    }

    /// Domain prefix of content ids: 18 ASCII bytes, hashed before the creator and header digest.
    bytes internal constant CONTENT_ID_DOMAIN = "ddrm/content-id/v2";

    CapsuleRegistry public immutable capsules;
    RoyaltyShares public immutable shares;
    /// The Access contract whose edition counters registration initialises (address(0) = none yet).
    address public access;

    mapping(uint256 contentId => Content) private _contents;
    mapping(uint256 contentId => bytes32[]) private _renderers;
    mapping(uint256 contentId => mapping(bytes32 measurement => bool)) private _rendererListed;
    /// The one content each creator registered with a key commitment (0 = none). A commitment is
    /// set once at registration and never changes, so this map never goes stale.
    mapping(address creator => mapping(bytes32 commitment => uint256 contentId)) private _contentOfCommitment;

    event ContentRegistered(
        uint256 indexed contentId,
        address indexed creator,
        address indexed paymentToken,
        bytes32 keyCommitment,
        string cid
    );
    event AccessSet(address access);
    event TermsSet(uint256 indexed contentId, Terms terms);
    event RendererAllowed(uint256 indexed contentId, bytes32 indexed measurement);
    event RendererDisallowed(uint256 indexed contentId, bytes32 indexed measurement);

    error AlreadyRegistered(uint256 contentId);
    /// The content id is not `contentIdFor(msg.sender, headerDigest)`: the caller did not package it.
    error NotTheCreator(uint256 contentId);
    /// The caller already registered `existingId` with this key commitment.
    error CommitmentTaken(uint256 existingId);
    error UnknownContent(uint256 contentId);
    error NotCreator(address account);
    error BadRegistration(string reason);
    error BadTerms(string reason);
    error AccessAlreadySet();
    error ZeroAddress();

    constructor(address owner_, CapsuleRegistry capsules_, RoyaltyShares shares_) Ownable(owner_) {
        capsules = capsules_;
        shares = shares_;
    }

    /// Wires the Access contract, once.
    function setAccess(address access_) external onlyOwner {
        if (access != address(0)) revert AccessAlreadySet();
        if (access_ == address(0)) revert ZeroAddress();
        access = access_;
        emit AccessSet(access_);
    }

    /// Registers a content with the caller as creator and mints its 10,000 royalty shares to
    /// `holders` (`amounts` must sum to 10,000).
    ///
    /// Reverts with `NotTheCreator` unless `r.contentId == contentIdFor(msg.sender, r.headerDigest)`:
    /// the id commits to its creator, so only the account the packager named can register it
    /// (copying the calldata from another account yields a different id). Reverts with
    /// `CommitmentTaken` when the caller already registered another content with the same key
    /// commitment: one commitment names one content per creator, which licence nodes check
    /// through `contentOfCommitment`.
    function register(Registration calldata r, address[] calldata holders, uint16[] calldata amounts) external {
        uint256 id = r.contentId;
        if (id == 0) revert BadRegistration("zero content id");
        if (_contents[id].creator != address(0)) revert AlreadyRegistered(id);
        if (id != contentIdFor(msg.sender, r.headerDigest)) revert NotTheCreator(id);
        if (bytes(r.cid).length == 0) revert BadRegistration("empty cid");
        if (r.keyCommitment == bytes32(0)) revert BadRegistration("zero key commitment");
        uint256 existing = _contentOfCommitment[msg.sender][r.keyCommitment];
        if (existing != 0) revert CommitmentTaken(existing);
        _contentOfCommitment[msg.sender][r.keyCommitment] = id;
        if (r.paymentToken != address(0) && r.paymentToken.code.length == 0) {
            revert BadRegistration("payment token is not a contract");
        }
        _checkTerms(r.terms);
        Content storage c = _contents[id];
        c.creator = msg.sender;
        c.registeredAt = uint64(block.timestamp);
        c.paymentToken = r.paymentToken;
        c.keyCommitment = r.keyCommitment;
        c.terms = r.terms;
        c.cid = r.cid;
        emit ContentRegistered(id, msg.sender, r.paymentToken, r.keyCommitment, r.cid);
        emit TermsSet(id, r.terms);
        for (uint256 i = 0; i < r.renderers.length; ++i) {
            _allow(id, r.renderers[i]);
        }
        address access_ = access;
        if (access_ != address(0)) IEditionCounter(access_).initContent(id);
        shares.mintInitial(id, r.paymentToken, msg.sender, holders, amounts);
    }

    /// The creator changes prices, periods, edition cap or resale royalty.
    function setTerms(uint256 contentId, Terms calldata terms_) external {
        _onlyCreator(contentId);
        _checkTerms(terms_);
        _contents[contentId].terms = terms_;
        emit TermsSet(contentId, terms_);
    }

    function allowRenderer(uint256 contentId, bytes32 measurement) external {
        _onlyCreator(contentId);
        _allow(contentId, measurement);
    }

    function disallowRenderer(uint256 contentId, bytes32 measurement) external {
        _onlyCreator(contentId);
        if (!_rendererListed[contentId][measurement]) return;
        _rendererListed[contentId][measurement] = false;
        bytes32[] storage list = _renderers[contentId];
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] == measurement) {
                list[i] = list[list.length - 1];
                list.pop();
                break;
            }
        }
        emit RendererDisallowed(contentId, measurement);
    }

    // ---------------------------------------------------------------- views

    /// The content id of a `.ddrm` whose header names `creator` and whose other header fields
    /// digest to `headerDigest`: SHA-256 over the 18 bytes "ddrm/content-id/v2", the creator's
    /// 20-byte address and the 32-byte digest, read as a big-endian integer. The packager
    /// (format v2) and `contracts_bindings::ops::content_id_for` compute the same.
    function contentIdFor(address creator, bytes32 headerDigest) public pure returns (uint256) {
        return uint256(sha256(abi.encodePacked(CONTENT_ID_DOMAIN, creator, headerDigest)));
    }

    /// The content `creator` registered with key commitment `commitment`, or 0 if none. Licence
    /// nodes check that this equals the content id a licence is asked for, for the creator the key
    /// ciphertext is labelled with; a different id is an alias and is refused.
    function contentOfCommitment(address creator, bytes32 commitment) external view returns (uint256) {
        return _contentOfCommitment[creator][commitment];
    }

    function isRegistered(uint256 contentId) external view returns (bool) {
        return _contents[contentId].creator != address(0);
    }

    function content(uint256 contentId) external view returns (Content memory) {
        return _known(contentId);
    }

    function creatorOf(uint256 contentId) external view returns (address) {
        return _known(contentId).creator;
    }

    function paymentTokenOf(uint256 contentId) external view returns (address) {
        return _known(contentId).paymentToken;
    }

    function termsOf(uint256 contentId) external view returns (Terms memory) {
        return _known(contentId).terms;
    }

    /// Payment token and terms in one call, for the sale paths. Reverts on an unknown content.
    function saleInfo(uint256 contentId) external view returns (address paymentToken, Terms memory terms) {
        Content storage c = _known(contentId);
        return (c.paymentToken, c.terms);
    }

    /// SHA-256 of the key ciphertext the licence network may decrypt for this content.
    function keyCommitment(uint256 contentId) external view returns (bytes32) {
        return _known(contentId).keyCommitment;
    }

    function cidOf(uint256 contentId) external view returns (string memory) {
        return _known(contentId).cid;
    }

    function renderersOf(uint256 contentId) external view returns (bytes32[] memory) {
        return _renderers[contentId];
    }

    /// True when the creator allowed this capsule measurement for the content and the capsule is
    /// registered and not revoked.
    function isRendererAllowed(uint256 contentId, bytes32 measurement) external view returns (bool) {
        return _rendererListed[contentId][measurement] && capsules.isCapsuleActive(measurement);
    }

    // ---------------------------------------------------------------- internals

    function _known(uint256 contentId) private view returns (Content storage c) {
        c = _contents[contentId];
        if (c.creator == address(0)) revert UnknownContent(contentId);
    }

    function _onlyCreator(uint256 contentId) private view {
        if (_known(contentId).creator != msg.sender) revert NotCreator(msg.sender);
    }

    function _allow(uint256 contentId, bytes32 measurement) private {
        if (measurement == bytes32(0)) revert BadRegistration("zero renderer measurement");
        if (_rendererListed[contentId][measurement]) return;
        _rendererListed[contentId][measurement] = true;
        _renderers[contentId].push(measurement);
        emit RendererAllowed(contentId, measurement);
    }

    function _checkTerms(Terms calldata t) private pure {
        if ((t.rentPrice == 0) != (t.rentPeriod == 0)) revert BadTerms("rent price and period must both be set");
        if ((t.subscriptionPrice == 0) != (t.subscriptionPeriod == 0)) {
            revert BadTerms("subscription price and period must both be set");
        }
        if (t.maxEditions != 0 && t.price == 0) revert BadTerms("edition cap without a price");
        if (t.resaleRoyaltyBps > Ddrm.MAX_RESALE_ROYALTY_BPS) revert BadTerms("resale royalty above 50%");
    }
}
