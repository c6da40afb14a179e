// One way to send a paying transaction through the wallet: the content's payment token is the
// native token (sent as value) or an ERC-20 (approved to the spending contract first, for exactly
// the amount due, only when the allowance is short).
import { encodeFunctionData, parseAbi, type Address, type Chain, type Hex } from 'viem';
import { NATIVE } from './format';
import { wallet, type Sent } from './wallet.svelte';

const ERC20_ABI = parseAbi([
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
]);

/** Sends `data` to `to`, paying `price` of `paymentToken`. */
export async function payInto(chain: Chain, to: Address, paymentToken: string, price: bigint, data: Hex): Promise<Sent> {
  if (paymentToken === NATIVE) return wallet.send(chain, { to, data, value: price });
  const token = paymentToken as Address;
  const owner = wallet.account;
  if (!owner) throw new Error('Connect a wallet first.');
  const allowed = await wallet.reader(chain).readContract({
    address: token,
    abi: ERC20_ABI,
    functionName: 'allowance',
    args: [owner, to],
  });
  if (allowed < price) {
    const approve = encodeFunctionData({ abi: ERC20_ABI, functionName: 'approve', args: [to, price] });
    await wallet.send(chain, { to: token, data: approve, value: 0n });
  }
  return wallet.send(chain, { to, data, value: 0n });
}
