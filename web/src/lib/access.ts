// Buying and renting through the user's wallet, bounded by what the buyer saw: `maxPrice` is
// the price shown (a price raised meanwhile reverts instead of charging more) and a rental's
// `minPeriod` is the period shown.
import { encodeFunctionData, type Address, type Chain, type Hex } from 'viem';
import type { ContentSummary, PublicConfig } from './api';
import { NATIVE } from './format';
import { wallet } from './wallet.svelte';

const ACCESS_ABI = [
  {
    type: 'function',
    name: 'buy',
    stateMutability: 'payable',
    inputs: [
      { name: 'contentId', type: 'uint256' },
      { name: 'maxPrice', type: 'uint256' },
    ],
    outputs: [{ name: 'edition', type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'rent',
    stateMutability: 'payable',
    inputs: [
      { name: 'contentId', type: 'uint256' },
      { name: 'periods', type: 'uint32' },
      { name: 'maxPrice', type: 'uint256' },
      { name: 'minPeriod', type: 'uint32' },
    ],
    outputs: [{ name: '', type: 'uint64' }],
  },
] as const;

const ERC20_ABI = [
  {
    type: 'function',
    name: 'allowance',
    stateMutability: 'view',
    inputs: [
      { name: 'owner', type: 'address' },
      { name: 'spender', type: 'address' },
    ],
    outputs: [{ name: '', type: 'uint256' }],
  },
  {
    type: 'function',
    name: 'approve',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'spender', type: 'address' },
      { name: 'amount', type: 'uint256' },
    ],
    outputs: [{ name: '', type: 'bool' }],
  },
] as const;

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
