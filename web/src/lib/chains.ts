// The chains the app knows by id, and the one this deployment runs on (from /v1/config).
import { defineChain, type Chain } from 'viem';
import type { PublicConfig } from './api';

interface Known {
  name: string;
  rpc: string;
  explorer: string;
}

const ELA = { name: 'Elastos', symbol: 'ELA', decimals: 18 } as const;

export const KNOWN_CHAINS: Readonly<Record<number, Known>> = {
  20: { name: 'Elastos Smart Chain', rpc: 'https://api.elastos.io/esc', explorer: 'https://esc.elastos.io' },
  21: {
    name: 'Elastos Smart Chain Testnet',
    rpc: 'https://api-testnet.elastos.io/esc',
    explorer: 'https://esc-testnet.elastos.io',
  },
};

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  } catch {
    return false;
  }
}

/**
 * The deployment's chain. A local stack imitates ESC's id (20) on its own RPC, so the RPC the
 * server names wins over the known one, and a loopback RPC is named as the local stack it is.
 */
export function deploymentChain(config: PublicConfig): Chain {
  const known = KNOWN_CHAINS[config.chain_id];
  const rpc = config.rpc_url ?? known?.rpc;
  const local = config.rpc_url !== null && isLoopback(config.rpc_url);
  const name = local ? `Local ddrm stack (chain ${config.chain_id})` : (known?.name ?? `Chain ${config.chain_id}`);
  return defineChain({
    id: config.chain_id,
    name,
    nativeCurrency: config.native_symbol === 'ELA' ? ELA : { name: config.native_symbol, symbol: config.native_symbol, decimals: 18 },
    rpcUrls: { default: { http: rpc ? [rpc] : [] } },
    blockExplorers: known && !local ? { default: { name: 'Explorer', url: known.explorer } } : undefined,
  });
}
