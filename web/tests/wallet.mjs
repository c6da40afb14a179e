// The test wallet the browser journeys and benchmarks inject into the page: an EIP-1193 provider
// (window.ethereum and an EIP-6963 announcement) whose every request is answered in Node:
// accounts and signatures from a real key through viem's local account, transactions signed
// with it and sent raw to the chain, every other call forwarded to the chain's RPC. So the app's
// transactions are exactly what a wallet would be asked to sign; the page never sees a key. A
// wallet can be told to reject its next request, as a user pressing "Reject" would.

import { createWalletClient, getAddress, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * A wallet holding `key` on the chain `chain` ({ transport, rpc, id }): answers the page's
 * EIP-1193 requests.
 */
export function makeWallet(name, key, chain) {
  const { transport, rpc: chainRpc, id: chainId } = chain;
  const account = privateKeyToAccount(key.startsWith('0x') ? key : `0x${key}`);
  const signer = createWalletClient({ account, transport });
  const w = {
    name,
    address: account.address,
    /** What the wallet was asked, in order (a wallet would show each of these to its user). */
    asked: [],
    sent: [],
    rejectNext: false,
    /** The chain the wallet is on; another than the stack's imitates a wallet left on it. */
    chainId,
  };
  w.answer = async (method, params) => {
    w.asked.push(method);
    if (w.rejectNext && ['eth_sendTransaction', 'personal_sign', 'eth_signTypedData_v4'].includes(method)) {
      w.rejectNext = false;
      throw new RpcError(4001, 'User rejected the request.');
    }
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return [account.address];
      case 'eth_chainId':
        return toHex(w.chainId);
      case 'wallet_switchEthereumChain':
        if (Number(params[0]?.chainId) !== chainId) throw new RpcError(4902, `chain ${params[0]?.chainId} is not added`);
        w.chainId = chainId;
        return null;
      case 'eth_sendTransaction': {
        const tx = params[0];
        if (getAddress(tx.from) !== account.address) throw new RpcError(4100, `not this wallet's account: ${tx.from}`);
        if (w.chainId !== chainId) throw new RpcError(4901, `the wallet is on chain ${w.chainId}`);
        if (tx.chainId !== undefined && Number(tx.chainId) !== chainId) throw new RpcError(4901, `wrong chain ${tx.chainId}`);
        const hash = await signer.sendTransaction({
          chain: null,
          to: tx.to,
          data: tx.data,
          value: tx.value === undefined ? 0n : BigInt(tx.value),
          gas: tx.gas === undefined ? undefined : BigInt(tx.gas),
        });
        w.sent.push({ to: tx.to.toLowerCase(), data: tx.data, value: BigInt(tx.value ?? 0), hash });
        return hash;
      }
      case 'personal_sign':
        return account.signMessage({ message: { raw: params[0] } });
      case 'eth_signTypedData_v4':
        return account.signTypedData(JSON.parse(params[1]));
      case 'eth_sign':
      case 'eth_signTransaction':
        throw new RpcError(4200, `${method} is not offered by this wallet`);
      default:
        return chainRpc.request({ method, params });
    }
  };
  return w;
}

// The page's half: an EIP-1193 provider whose requests cross to `answer` above.
export const PAGE_PROVIDER = () => {
  const listeners = {};
  const provider = {
    isJourneyWallet: true,
    async request({ method, params }) {
      const reply = await window.__journeyWallet(method, JSON.stringify(params ?? []));
      if (reply.error) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
      return reply.result;
    },
    on(event, fn) {
      (listeners[event] ??= []).push(fn);
      return provider;
    },
    removeListener(event, fn) {
      listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn);
      return provider;
    },
  };
  window.ethereum = provider;
  const detail = Object.freeze({
    info: {
      uuid: 'a3c1f0de-0b5e-4c55-9d1e-journeywallet',
      name: 'Journey Wallet',
      icon: 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/%3E',
      rdns: 'dev.ddrm.journey',
    },
    provider,
  });
  const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail }));
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
};

/**
 * A browser context of its own whose pages have `w` injected as their wallet; page errors and
 * console errors are pushed to `errors`.
 */
export async function openWithWallet(browser, w, viewport, errors, timeout) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  context.setDefaultTimeout(timeout);
  await context.exposeFunction('__journeyWallet', async (method, paramsJson) => {
    try {
      return { result: await w.answer(method, JSON.parse(paramsJson)) };
    } catch (e) {
      return { error: { code: e.code ?? -32603, message: e.shortMessage ?? e.message } };
    }
  });
  await context.addInitScript(PAGE_PROVIDER);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`${w.name}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`${w.name} console: ${m.text()}`));
  return page;
}

/** Connects the app on `page` to the injected wallet. */
export async function connect(page) {
  await page.getByRole('button', { name: 'Connect wallet' }).first().click();
  await page.getByText('Journey Wallet').first().waitFor();
}
