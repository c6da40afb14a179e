// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// The EIP-2981 royalty receiver of one content: a CREATE2 address derived from the content id,
/// where outside marketplaces send resale royalties. Anyone may ask RoyaltyShares to sweep it,
/// which turns the balance into revenue for that content's royalty holders. A plain contract with
/// an empty `receive`, so a 2,300-gas `transfer` into it still succeeds.
contract RoyaltyVault {
    using SafeERC20 for IERC20;

    address private immutable _shares;

    error OnlyShares();

    constructor() {
        _shares = msg.sender;
    }

    receive() external payable {}

    /// Sends this vault's whole balance of `token` (address(0) = native) to RoyaltyShares.
    function sweep(address token) external returns (uint256 amount) {
        if (msg.sender != _shares) revert OnlyShares();
        if (token == address(0)) {
            amount = address(this).balance;
            (bool ok,) = _shares.call{value: amount}("");
            require(ok);
        } else {
            amount = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransfer(_shares, amount);
        }
    }
}
