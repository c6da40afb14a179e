// The user's own wallet, found by EIP-6963 discovery (every injected wallet announces itself)
// with `window.ethereum` (EIP-1193) as the fallback. Every write is a transaction the wallet
// shows and signs (`eth_sendTransaction`); the app never holds a key.
import {
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
  type Address,
  type Chain,
  type EIP1193Provider,
  type Hex,
} from 'viem';

export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

export interface Discovered {
  info: WalletInfo;
  provider: EIP1193Provider;
}

interface AnnounceEvent extends Event {
  detail: Discovered;
}

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

/** A transaction the chain has included and that succeeded. */
export interface Sent {
  hash: Hex;
  /** The block that includes it: reads "as of" this block or later show its effects. */
  block: bigint;
}

const LEGACY: WalletInfo = { uuid: 'window.ethereum', name: 'Browser wallet', icon: '', rdns: '' };

class Wallet {
  /** Wallets that announced themselves (EIP-6963), or the legacy injected one. */
  found = $state<Discovered[]>([]);
  account = $state<Address | null>(null);
  chainId = $state<number | null>(null);
  name = $state<string | null>(null);
  #provider: EIP1193Provider | null = null;

  discover(): void {
    window.addEventListener('eip6963:announceProvider', (e) => {
      const d = (e as AnnounceEvent).detail;
      if (d?.info?.uuid && d.provider && !this.found.some((f) => f.info.uuid === d.info.uuid)) {
        this.found = [...this.found.filter((f) => f.info !== LEGACY), d];
      }
    });
    window.dispatchEvent(new Event('eip6963:requestProvider'));
    // Wallets that predate EIP-6963 only set window.ethereum.
    const legacy = window.ethereum;
    if (legacy && this.found.length === 0) this.found = [{ info: LEGACY, provider: legacy }];
  }

  async connect(d: Discovered): Promise<void> {
    const accounts = (await d.provider.request({ method: 'eth_requestAccounts' })) as string[];
    if (!accounts.length) throw new Error('The wallet shared no account.');
    this.#provider = d.provider;
    this.name = d.info.name;
    this.account = getAddress(accounts[0]);
    this.chainId = Number(await d.provider.request({ method: 'eth_chainId' }));
    d.provider.on?.('accountsChanged', (a: string[]) => {
      this.account = a.length ? getAddress(a[0]) : null;
    });
    d.provider.on?.('chainChanged', (id: string) => {
      this.chainId = Number(id);
    });
  }

  disconnect(): void {
    this.#provider = null;
    this.account = null;
    this.chainId = null;
    this.name = null;
  }

  /** Sends one transaction through the wallet on `chain` and waits for it to succeed. */
  async send(chain: Chain, tx: { to: Address; data: Hex; value: bigint }): Promise<Sent> {
    const client = this.#client(chain);
    if (this.chainId !== chain.id) await this.switchTo(chain);
    const hash = await client.sendTransaction({ ...tx, chain });
    const receipt = await this.reader(chain).waitForTransactionReceipt({
      hash,
      timeout: 120_000,
    });
    if (receipt.status !== 'success') throw new Error(`The transaction ${hash} reverted.`);
    return { hash, block: receipt.blockNumber };
  }

  /** Asks the wallet to switch to `chain`, adding it (`wallet_addEthereumChain`) when unknown. */
  async switchTo(chain: Chain): Promise<void> {
    const client = this.#client(chain);
    try {
      await client.switchChain({ id: chain.id });
    } catch (e) {
      if (codeOf(e) !== 4902) throw e;
      if (!chain.rpcUrls.default.http.length) throw new Error(`Add chain ${chain.id} to your wallet first.`);
      await client.addChain({ chain });
    }
    this.chainId = chain.id;
  }

  /** Asks the wallet to sign `message` as text (EIP-191 `personal_sign`), as sign-in does. */
  async signMessage(message: string): Promise<Hex> {
    const client = this.#client(undefined);
    return client.signMessage({ account: client.account, message });
  }

  #client(chain: Chain | undefined) {
    const provider = this.#provider;
    const account = this.account;
    if (!provider || !account) throw new Error('Connect a wallet first.');
    return createWalletClient({ account, chain, transport: custom(provider) });
  }

  /** A read through the wallet's own connection to the chain. */
  reader(chain: Chain) {
    if (!this.#provider) throw new Error('Connect a wallet first.');
    return createPublicClient({ chain, transport: custom(this.#provider) });
  }
}

/** The EIP-1193 error code anywhere in a viem error's cause chain. */
export function codeOf(e: unknown): number | undefined {
  for (let c: unknown = e; c && typeof c === 'object'; c = (c as { cause?: unknown }).cause) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** What to tell the user about a failed wallet action. */
export function explain(e: unknown): string {
  if (codeOf(e) === 4001) return 'You rejected the request in your wallet; nothing was sent.';
  const short = (e as { shortMessage?: string }).shortMessage;
  return short ?? (e instanceof Error ? e.message : String(e));
}

export const wallet = new Wallet();
