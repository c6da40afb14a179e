// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// The licence network of the current epoch: its threshold group public key, the threshold t
/// (t + 1 shares release a key), and the n nodes (operator address and endpoint URL, in share
/// index order). A key rotation starts a new epoch with a new group key and node set.
contract LicenceNetworkRegistry is Ownable2Step {
    struct Node {
        address operator;
        string endpoint;
    }

    uint64 public epoch;
    uint16 public threshold;
    bytes public groupPublicKey;
    Node[] private _nodes;

    event EpochStarted(uint64 indexed epoch, uint16 threshold, uint256 nodeCount, bytes groupPublicKey);
    event NodeSet(uint64 indexed epoch, uint256 indexed index, address indexed operator, string endpoint);

    error BadNetwork();
    error NotOperator(address account);
    error NoSuchNode(uint256 index);

    constructor(address owner_) Ownable(owner_) {}

    /// Replaces the network: new group key, threshold and nodes; bumps the epoch.
    function startEpoch(
        bytes calldata groupPublicKey_,
        uint16 threshold_,
        address[] calldata operators,
        string[] calldata endpoints
    ) external onlyOwner {
        uint256 n = operators.length;
        if (groupPublicKey_.length == 0 || n != endpoints.length || uint256(threshold_) >= n) revert BadNetwork();
        uint64 next = epoch + 1;
        epoch = next;
        threshold = threshold_;
        groupPublicKey = groupPublicKey_;
        delete _nodes;
        emit EpochStarted(next, threshold_, n, groupPublicKey_);
        for (uint256 i = 0; i < n; ++i) {
            if (operators[i] == address(0)) revert BadNetwork();
            _nodes.push(Node(operators[i], endpoints[i]));
            emit NodeSet(next, i, operators[i], endpoints[i]);
        }
    }

    /// A node's operator moves its endpoint.
    function setEndpoint(uint256 index, string calldata endpoint) external {
        if (index >= _nodes.length) revert NoSuchNode(index);
        Node storage node_ = _nodes[index];
        if (node_.operator != msg.sender) revert NotOperator(msg.sender);
        node_.endpoint = endpoint;
        emit NodeSet(epoch, index, msg.sender, endpoint);
    }

    function nodeCount() external view returns (uint256) {
        return _nodes.length;
    }

    function node(uint256 index) external view returns (address operator, string memory endpoint) {
        if (index >= _nodes.length) revert NoSuchNode(index);
        Node storage n = _nodes[index];
        return (n.operator, n.endpoint);
    }

    function nodes() external view returns (Node[] memory) {
        return _nodes;
    }
}
