// ERC-20 payment tokens' symbols and decimals, read once per token from the deployment's chain
// (its public RPC, or the connected wallet's connection when the server names none), so that
// amounts show as "2.5 TUSD" rather than as base units. Until a token is known, and for a token
// that cannot be read, amounts show and are typed in base units: less friendly, never wrong,
// because `format.ts` shows and parses with the same knowledge and names the unit it uses.
import { createPublicClient, http, parseAbi, type Address } from 'viem';
import { deployment } from './deployment.svelte';
import { wallet } from './wallet.svelte';

export interface TokenInfo {
  symbol: string;
  decimals: number;
}

const ERC20_ABI = parseAbi(['function symbol() view returns (string)', 'function decimals() view returns (uint8)']);
/** Longest a token's symbol may be to be shown (a token names itself; bound what we print). */
const MAX_SYMBOL = 11;
const READ_TIMEOUT_MS = 10_000;

const known = $state<Record<string, TokenInfo | 'unreadable'>>({});
const reading = new Set<string>();

/** What is known of the ERC-20 at `address`; starts reading it once. 'unreadable': no ERC-20
 *  answered there (or it names itself oddly). */
export function tokenState(address: string): TokenInfo | 'reading' | 'unreadable' {
  const key = address.toLowerCase();
  const info = known[key];
  if (info === undefined && !reading.has(key)) void read(key);
  return info ?? 'reading';
}

/** The ERC-20's symbol and decimals, or null while unknown (or unreadable). */
export function tokenInfo(address: string): TokenInfo | null {
  const info = tokenState(address);
  return typeof info === 'object' ? info : null;
}

async function read(key: string): Promise<void> {
  const chain = deployment.chain;
  if (!chain) return;
  const client = deployment.config?.rpc_url
    ? createPublicClient({ chain, transport: http(undefined, { timeout: READ_TIMEOUT_MS, retryCount: 1 }) })
    : wallet.account
      ? wallet.reader(chain)
      : null;
  // Nothing to read through yet: a later render (after connecting a wallet) asks again.
  if (!client) return;
  reading.add(key);
  try {
    const address = key as Address;
    const [symbol, decimals] = await Promise.all([
      client.readContract({ address, abi: ERC20_ABI, functionName: 'symbol' }),
      client.readContract({ address, abi: ERC20_ABI, functionName: 'decimals' }),
    ]);
    const shown = symbol.trim();
    const plain = /^[\p{L}\p{N}$._-]+$/u.test(shown) && shown.length <= MAX_SYMBOL;
    known[key] = plain && decimals <= 36 ? { symbol: shown, decimals } : 'unreadable';
  } catch {
    known[key] = 'unreadable';
  } finally {
    reading.delete(key);
  }
}
