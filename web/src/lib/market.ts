// The royalty-share market and royalty claims through the user's wallet. Listings keep the
// seller's shares in the seller's wallet until a fill moves them, so listing (and selling into
// an offer) needs the Market's ERC-1155 approval on RoyaltyShares, asked once; offers escrow
// their payment in the Market; proceeds and refunds are pulled with `withdraw`.
import { encodeFunctionData, parseAbi, type Address, type Chain, type Hex } from 'viem';
import type { PublicConfig } from './api';
import { payInto } from './pay';
import { wallet, type Sent } from './wallet.svelte';

const MARKET_ABI = parseAbi([
  'function list(address collection, uint256 contentId, uint96 amount, uint128 unitPrice, uint16 maxRoyaltyBps) returns (uint256)',
  'function cancelListing(uint256 listingId)',
  'function buyListing(uint256 listingId, uint96 amount, uint16 maxRoyaltyBps) payable',
  'function makeOffer(address collection, uint256 contentId, uint96 amount, uint128 unitPrice) payable returns (uint256)',
  'function cancelOffer(uint256 offerId)',
  'function acceptOffer(uint256 offerId, uint96 amount, uint16 maxRoyaltyBps)',
  'function withdraw(address token) returns (uint256)',
  'function withdrawable(address account, address token) view returns (uint256)',
]);

const SHARES_ABI = parseAbi([
  'function isApprovedForAll(address account, address operator) view returns (bool)',
  'function setApprovalForAll(address operator, bool approved)',
  'function claim(uint256 contentId) returns (uint256)',
  'function claimMany(uint256[] contentIds) returns (uint256)',
]);

/** Royalty shares trade with no resale royalty: fills name 0 as the highest they accept. */
const NO_ROYALTY = 0;

const market = (c: PublicConfig) => c.contracts.market as Address;
const shares = (c: PublicConfig) => c.contracts.royalty_shares as Address;

function account(): Address {
  if (!wallet.account) throw new Error('Connect a wallet first.');
  return wallet.account;
}

/** Asks the wallet to let the Market move the user's royalty shares, unless it already may. */
async function approveMarket(chain: Chain, config: PublicConfig): Promise<void> {
  const approved = await wallet.reader(chain).readContract({
    address: shares(config),
    abi: SHARES_ABI,
    functionName: 'isApprovedForAll',
    args: [account(), market(config)],
  });
  if (approved) return;
  const data = encodeFunctionData({ abi: SHARES_ABI, functionName: 'setApprovalForAll', args: [market(config), true] });
  await wallet.send(chain, { to: shares(config), data, value: 0n });
}

function send(chain: Chain, config: PublicConfig, data: Hex): Promise<Sent> {
  return wallet.send(chain, { to: market(config), data, value: 0n });
}

/** Lists `amount` shares at `unitPrice` base units each. */
export async function list(
  chain: Chain,
  config: PublicConfig,
  contentId: string,
  amount: number,
  unitPrice: bigint,
): Promise<Sent> {
  await approveMarket(chain, config);
  const data = encodeFunctionData({
    abi: MARKET_ABI,
    functionName: 'list',
    args: [shares(config), BigInt(contentId), BigInt(amount), unitPrice, NO_ROYALTY],
  });
  return send(chain, config, data);
}

/** Offers to buy `amount` shares at `unitPrice` each, escrowing the whole price. */
export function offer(
  chain: Chain,
  config: PublicConfig,
  contentId: string,
  paymentToken: string,
  amount: number,
  unitPrice: bigint,
): Promise<Sent> {
  const data = encodeFunctionData({
    abi: MARKET_ABI,
    functionName: 'makeOffer',
    args: [shares(config), BigInt(contentId), BigInt(amount), unitPrice],
  });
  return payInto(chain, market(config), paymentToken, unitPrice * BigInt(amount), data);
}

/** Buys `amount` shares from a listing at its unit price. */
export function fillListing(
  chain: Chain,
  config: PublicConfig,
  paymentToken: string,
  listingId: number,
  amount: number,
  unitPrice: bigint,
): Promise<Sent> {
  const data = encodeFunctionData({
    abi: MARKET_ABI,
    functionName: 'buyListing',
    args: [BigInt(listingId), BigInt(amount), NO_ROYALTY],
  });
  return payInto(chain, market(config), paymentToken, unitPrice * BigInt(amount), data);
}

/** Sells `amount` of the user's shares into an offer. */
export async function acceptOffer(chain: Chain, config: PublicConfig, offerId: number, amount: number): Promise<Sent> {
  await approveMarket(chain, config);
  const data = encodeFunctionData({
    abi: MARKET_ABI,
    functionName: 'acceptOffer',
    args: [BigInt(offerId), BigInt(amount), NO_ROYALTY],
  });
  return send(chain, config, data);
}

export function cancel(chain: Chain, config: PublicConfig, side: 'listing' | 'offer', id: number): Promise<Sent> {
  const data =
    side === 'listing'
      ? encodeFunctionData({ abi: MARKET_ABI, functionName: 'cancelListing', args: [BigInt(id)] })
      : encodeFunctionData({ abi: MARKET_ABI, functionName: 'cancelOffer', args: [BigInt(id)] });
  return send(chain, config, data);
}

/** What the Market owes the user in `token` (sales proceeds and refunded offers). */
export function withdrawable(chain: Chain, config: PublicConfig, token: string): Promise<bigint> {
  return wallet.reader(chain).readContract({
    address: market(config),
    abi: MARKET_ABI,
    functionName: 'withdrawable',
    args: [account(), token as Address],
  });
}

export function withdraw(chain: Chain, config: PublicConfig, token: string): Promise<Sent> {
  const data = encodeFunctionData({ abi: MARKET_ABI, functionName: 'withdraw', args: [token as Address] });
  return send(chain, config, data);
}

/** Claims the revenue of one content, or of several in one transaction. */
export function claim(chain: Chain, config: PublicConfig, contentIds: string[]): Promise<Sent> {
  const ids = contentIds.map((id) => BigInt(id));
  const data =
    ids.length === 1
      ? encodeFunctionData({ abi: SHARES_ABI, functionName: 'claim', args: [ids[0]] })
      : encodeFunctionData({ abi: SHARES_ABI, functionName: 'claimMany', args: [ids] });
  return wallet.send(chain, { to: shares(config), data, value: 0n });
}
