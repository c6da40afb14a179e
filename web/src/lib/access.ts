// Buying and renting through the user's wallet, bounded by what the buyer saw: `maxPrice` is
// the price shown (a price raised meanwhile reverts instead of charging more) and a rental's
// `minPeriod` is the period shown.
import { encodeFunctionData, parseAbi, type Address, type Chain, type Hex } from 'viem';
import type { ContentSummary, PublicConfig } from './api';
import { NATIVE } from './format';
import { wallet } from './wallet.svelte';

const ACCESS_ABI = parseAbi([
  'function buy(uint256 contentId, uint256 maxPrice) payable returns (uint256 edition)',
  'function rent(uint256 contentId, uint32 periods, uint256 maxPrice, uint32 minPeriod) payable returns (uint64)',
]);

const ERC20_ABI = parseAbi([
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
]);

/** Pays `price` for `data`: as value in the native token, or after an ERC-20 approval. */
async function pay(chain: Chain, config: PublicConfig, c: ContentSummary, price: bigint, data: Hex): Promise<Hex> {
  const access = config.contracts.access as Address;
  if (c.payment_token === NATIVE) return wallet.send(chain, { to: access, data, value: price });
  const token = c.payment_token as Address;
  const owner = wallet.account;
  if (!owner) throw new Error('Connect a wallet first.');
  const allowed = await wallet.reader(chain).readContract({
    address: token,
    abi: ERC20_ABI,
    functionName: 'allowance',
    args: [owner, access],
  });
  if (allowed < price) {
    const approve = encodeFunctionData({ abi: ERC20_ABI, functionName: 'approve', args: [access, price] });
    await wallet.send(chain, { to: token, data: approve, value: 0n });
  }
  return wallet.send(chain, { to: access, data, value: 0n });
}

export function buy(chain: Chain, config: PublicConfig, c: ContentSummary): Promise<Hex> {
  const price = BigInt(c.terms.price);
  const data = encodeFunctionData({ abi: ACCESS_ABI, functionName: 'buy', args: [BigInt(c.content_id), price] });
  return pay(chain, config, c, price, data);
}

/** Rents one period. */
export function rent(chain: Chain, config: PublicConfig, c: ContentSummary): Promise<Hex> {
  const price = BigInt(c.terms.rent_price);
  const data = encodeFunctionData({
    abi: ACCESS_ABI,
    functionName: 'rent',
    args: [BigInt(c.content_id), 1, price, c.terms.rent_period],
  });
  return pay(chain, config, c, price, data);
}
