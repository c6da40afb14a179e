// Buying and renting through the user's wallet, bounded by what the buyer saw: `maxPrice` is
// the price shown (a price raised meanwhile reverts instead of charging more) and a rental's
// `minPeriod` is the period shown.
import { encodeFunctionData, parseAbi, type Address, type Chain } from 'viem';
import type { ContentSummary, PublicConfig } from './api';
import { payInto } from './pay';
import type { Sent } from './wallet.svelte';

const ACCESS_ABI = parseAbi([
  'function buy(uint256 contentId, uint256 maxPrice) payable returns (uint256 edition)',
  'function rent(uint256 contentId, uint32 periods, uint256 maxPrice, uint32 minPeriod) payable returns (uint64)',
]);

export function buy(chain: Chain, config: PublicConfig, c: ContentSummary): Promise<Sent> {
  const price = BigInt(c.terms.price);
  const data = encodeFunctionData({ abi: ACCESS_ABI, functionName: 'buy', args: [BigInt(c.content_id), price] });
  return payInto(chain, config.contracts.access as Address, c.payment_token, price, data);
}

/** Rents one period. */
export function rent(chain: Chain, config: PublicConfig, c: ContentSummary): Promise<Sent> {
  const price = BigInt(c.terms.rent_price);
  const data = encodeFunctionData({
    abi: ACCESS_ABI,
    functionName: 'rent',
    args: [BigInt(c.content_id), 1, price, c.terms.rent_period],
  });
  return payInto(chain, config.contracts.access as Address, c.payment_token, price, data);
}
