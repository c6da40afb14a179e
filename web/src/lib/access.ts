// Buying, renting and subscribing through the user's wallet, bounded by what the buyer saw: `maxPrice` is
// the price shown (a price raised meanwhile reverts instead of charging more) and a rental's
// `minPeriod` is the period shown.
import { encodeFunctionData, parseAbi, type Address, type Chain } from 'viem';
import type { ContentSummary, PublicConfig } from './api';
import { payInto } from './pay';
import type { Sent } from './wallet.svelte';

const ACCESS_ABI = parseAbi([
  'function buy(uint256 contentId, uint256 maxPrice) payable returns (uint256 edition)',
  'function rent(uint256 contentId, uint32 periods, uint256 maxPrice, uint32 minPeriod) payable returns (uint64)',
  'function subscribe(uint256 contentId, uint32 periods, uint256 maxPrice, uint32 minPeriod) payable returns (uint64)',
]);

export function buy(chain: Chain, config: PublicConfig, c: ContentSummary): Promise<Sent> {
  const price = BigInt(c.terms.price);
  const data = encodeFunctionData({ abi: ACCESS_ABI, functionName: 'buy', args: [BigInt(c.content_id), price] });
  return payInto(chain, config.contracts.access as Address, c.payment_token, price, data);
}

/** Rents or subscribes for one period (renewing extends it); bounded by the price and the
 *  period shown. */
export function timed(kind: 'rent' | 'subscribe', chain: Chain, config: PublicConfig, c: ContentSummary): Promise<Sent> {
  const rent = kind === 'rent';
  const price = BigInt(rent ? c.terms.rent_price : c.terms.subscription_price);
  const period = rent ? c.terms.rent_period : c.terms.subscription_period;
  const data = encodeFunctionData({
    abi: ACCESS_ABI,
    functionName: kind,
    args: [BigInt(c.content_id), 1, price, period],
  });
  return payInto(chain, config.contracts.access as Address, c.payment_token, price, data);
}
