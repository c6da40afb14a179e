// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Access terms of one content, in units of the content's payment token (wei for native ELA).
/// Two storage slots: the two most-read prices share the first.
struct Terms {
    /// Price of one perpetual access token; 0 = not for sale.
    uint128 price;
    /// Price of one rental period; 0 = no rental.
    uint128 rentPrice;
    /// Price of one subscription period; 0 = no subscription.
    uint128 subscriptionPrice;
    /// Length of one rental period in seconds (0 exactly when rentPrice is 0).
    uint32 rentPeriod;
    /// Length of one subscription period in seconds (0 exactly when subscriptionPrice is 0).
    uint32 subscriptionPeriod;
    /// Cap on perpetual access tokens ever sold; 0 = unlimited.
    uint32 maxEditions;
    /// Royalty on resales of access tokens, in basis points, paid to royalty holders.
    uint16 resaleRoyaltyBps;
}

/// Constants shared by the contracts.
library Ddrm {
    /// Royalty shares per content: one share is 0.01 % of its revenue.
    uint256 internal constant TOTAL_SHARES = 10_000;
    /// Basis-point denominator.
    uint256 internal constant BPS = 10_000;
    /// Highest resale royalty a creator may set (50 %).
    uint16 internal constant MAX_RESALE_ROYALTY_BPS = 5_000;
}
