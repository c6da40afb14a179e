// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// Renderer capsules (the WASM players allowed to hold content keys) and runtime attestation keys
/// (the PC2 runtimes allowed to vouch for a capsule). Licence nodes read this before releasing a
/// key share: a capsule must be registered and not revoked, a runtime key approved and not revoked.
/// Revocation is final, so a leaked key or a broken capsule can never be quietly re-enabled.
contract CapsuleRegistry is Ownable2Step {
    struct Capsule {
        address publisher;
        uint32 version;
        uint64 registeredAt;
        bool revoked;
    }

    enum RuntimeStatus {
        Unknown,
        Approved,
        Revoked
    }

    /// Capsule by measurement (SHA-256 of the capsule's bytes).
    mapping(bytes32 measurement => Capsule) private _capsules;
    /// Addresses allowed to register capsules (set by governance).
    mapping(address account => bool) public isPublisher;
    /// Runtime attestation keys, identified by the address of their secp256k1 key.
    mapping(address key => RuntimeStatus) public runtimeStatus;

    event PublisherSet(address indexed publisher, bool allowed);
    event CapsuleRegistered(bytes32 indexed measurement, address indexed publisher, uint32 version);
    event CapsuleRevoked(bytes32 indexed measurement, address indexed by);
    event RuntimeApproved(address indexed key);
    event RuntimeRevoked(address indexed key);

    error NotPublisher(address account);
    error CapsuleExists(bytes32 measurement);
    error UnknownCapsule(bytes32 measurement);
    error AlreadyRevoked();
    error NotAllowed(address account);
    error ZeroValue();
    error RuntimeRevokedForever(address key);

    constructor(address owner_) Ownable(owner_) {}

    function setPublisher(address publisher, bool allowed) external onlyOwner {
        if (publisher == address(0)) revert ZeroValue();
        isPublisher[publisher] = allowed;
        emit PublisherSet(publisher, allowed);
    }

    /// Registers a capsule published by the caller. A measurement is registered once.
    function registerCapsule(bytes32 measurement, uint32 version) external {
        if (!isPublisher[msg.sender]) revert NotPublisher(msg.sender);
        if (measurement == bytes32(0)) revert ZeroValue();
        if (_capsules[measurement].publisher != address(0)) revert CapsuleExists(measurement);
        _capsules[measurement] = Capsule(msg.sender, version, uint64(block.timestamp), false);
        emit CapsuleRegistered(measurement, msg.sender, version);
    }

    /// Revokes a capsule for good; its publisher or governance may.
    function revokeCapsule(bytes32 measurement) external {
        Capsule storage c = _capsules[measurement];
        if (c.publisher == address(0)) revert UnknownCapsule(measurement);
        if (msg.sender != c.publisher && msg.sender != owner()) revert NotAllowed(msg.sender);
        if (c.revoked) revert AlreadyRevoked();
        c.revoked = true;
        emit CapsuleRevoked(measurement, msg.sender);
    }

    function approveRuntime(address key) external onlyOwner {
        if (key == address(0)) revert ZeroValue();
        if (runtimeStatus[key] == RuntimeStatus.Revoked) revert RuntimeRevokedForever(key);
        runtimeStatus[key] = RuntimeStatus.Approved;
        emit RuntimeApproved(key);
    }

    function revokeRuntime(address key) external onlyOwner {
        if (runtimeStatus[key] == RuntimeStatus.Revoked) revert AlreadyRevoked();
        runtimeStatus[key] = RuntimeStatus.Revoked;
        emit RuntimeRevoked(key);
    }

    function capsule(bytes32 measurement) external view returns (Capsule memory) {
        return _capsules[measurement];
    }

    /// True when the capsule is registered and not revoked.
    function isCapsuleActive(bytes32 measurement) public view returns (bool) {
        Capsule storage c = _capsules[measurement];
        return c.publisher != address(0) && !c.revoked;
    }

    /// True when the runtime attestation key is approved and not revoked.
    function isRuntimeApproved(address key) external view returns (bool) {
        return runtimeStatus[key] == RuntimeStatus.Approved;
    }
}
