// This server's deployment (chain and contracts), loaded once from /v1/config.
import type { Chain } from 'viem';
import { config, type PublicConfig } from './api';
import { deploymentChain } from './chains';

export const deployment = $state<{ config: PublicConfig | null; chain: Chain | null; error: string | null }>({
  config: null,
  chain: null,
  error: null,
});

export async function loadDeployment(): Promise<void> {
  try {
    const c = await config();
    deployment.config = c;
    deployment.chain = deploymentChain(c);
  } catch (e) {
    deployment.error = `The market's configuration cannot be read: ${e instanceof Error ? e.message : String(e)}`;
  }
}
