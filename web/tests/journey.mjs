// The buyer's journey in real Chromium: catalogue → search → content page → buy through the
// wallet → library. The wallet is an EIP-1193 provider injected into the page (window.ethereum
// and an EIP-6963 announcement) whose every request is answered here, in Node: accounts and
// signatures from a real key through viem's local account, transactions signed with it and sent
// raw to the chain, every other call forwarded to the chain's RPC. So the app's transactions are
// exactly what a wallet would be asked to sign; the page never sees the key.
//
// node tests/journey.mjs --base http://127.0.0.1:PORT --rpc http://127.0.0.1:8545 \
//   --search CID --content-id 0x… --out DIR        (the buyer's key in DDRM_JOURNEY_KEY)
// Exits 0 when the content is in the buyer's library; otherwise prints why and exits 1.
// Screenshots of each page go to DIR.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createPublicClient, createWalletClient, getAddress, http, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const STEP_MS = 30_000;
const BUY_MS = 120_000;

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    rpc: { type: 'string' },
    search: { type: 'string' },
    'content-id': { type: 'string' },
    out: { type: 'string' },
  },
});
for (const name of ['base', 'rpc', 'search', 'content-id', 'out']) {
  if (!opt[name]) fail(`--${name} is required`);
}
const key = process.env.DDRM_JOURNEY_KEY;
if (!key) fail('DDRM_JOURNEY_KEY (the buyer’s hex private key) is required');
if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; scripts/setup.sh does)`);
const contentId = opt['content-id'].toLowerCase();
mkdirSync(opt.out, { recursive: true });

function fail(message) {
  console.error(`journey: FAILED: ${message}`);
  process.exit(1);
}

// ---- the wallet, in Node ------------------------------------------------------------------
const account = privateKeyToAccount(key.startsWith('0x') ? key : `0x${key}`);
const transport = http(opt.rpc, { timeout: 20_000, retryCount: 0 });
const chainRpc = createPublicClient({ transport });
const signer = createWalletClient({ account, transport });
const chainId = await chainRpc.getChainId();
/** What the wallet was asked, in order (a wallet would show each of these to its user). */
const asked = [];
const sent = [];

class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function answer(method, params) {
  asked.push(method);
  switch (method) {
    case 'eth_requestAccounts':
    case 'eth_accounts':
      return [account.address];
    case 'eth_chainId':
      return toHex(chainId);
    case 'wallet_switchEthereumChain':
      if (Number(params[0]?.chainId) !== chainId) throw new RpcError(4902, `chain ${params[0]?.chainId} is not added`);
      return null;
    case 'eth_sendTransaction': {
      const tx = params[0];
      if (getAddress(tx.from) !== account.address) throw new RpcError(4100, `not this wallet's account: ${tx.from}`);
      if (tx.chainId !== undefined && Number(tx.chainId) !== chainId) throw new RpcError(4901, `wrong chain ${tx.chainId}`);
      const hash = await signer.sendTransaction({
        chain: null,
        to: tx.to,
        data: tx.data,
        value: tx.value === undefined ? 0n : BigInt(tx.value),
        gas: tx.gas === undefined ? undefined : BigInt(tx.gas),
      });
      sent.push({ to: tx.to.toLowerCase(), data: tx.data, value: BigInt(tx.value ?? 0), hash });
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
}

// The page's half: an EIP-1193 provider whose requests cross to `answer` above.
const PAGE_PROVIDER = () => {
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

// ---- the journey ----------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const pageErrors = [];
let page;
let shot = 0;
async function screenshot(name) {
  shot += 1;
  const path = join(opt.out, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`journey: screenshot ${path}`);
}

try {
  // Phone width: the app's users read it on phones.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(STEP_MS);
  await context.exposeFunction('__journeyWallet', async (method, paramsJson) => {
    try {
      return { result: await answer(method, JSON.parse(paramsJson)) };
    } catch (e) {
      return { error: { code: e.code ?? -32603, message: e.shortMessage ?? e.message } };
    }
  });
  await context.addInitScript(PAGE_PROVIDER);
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(`console: ${m.text()}`));

  console.log(`journey: open ${opt.base}/`);
  await page.goto(`${opt.base}/`);
  await page.getByRole('heading', { level: 1, name: 'Catalogue' }).waitFor();
  await page.getByRole('status').filter({ hasText: /content|No contents/ }).waitFor();
  await screenshot('catalogue');

  console.log(`journey: search ${opt.search}`);
  await page.getByLabel('Search').fill(opt.search);
  await page.getByRole('button', { name: 'Search' }).click();
  const card = page.locator(`a[href="/content/${contentId}"]`);
  await card.waitFor();
  const cards = await page.locator('.cards > li').count();
  if (cards !== 1) throw new Error(`the search for ${opt.search} found ${cards} contents, not 1`);
  await screenshot('search');

  console.log('journey: open the content page');
  await card.click();
  await page.waitForURL(`**/content/${contentId}`);
  await page.getByRole('heading', { name: 'Royalty holders' }).waitFor();
  const price = (await page.getByTestId('price').textContent()).trim();
  await page.getByRole('button', { name: 'Connect wallet' }).first().click();
  await page.getByText('Journey Wallet').first().waitFor();
  const buyButton = page.getByRole('button', { name: `Buy for ${price}` });
  await buyButton.waitFor();
  await page.getByRole('button', { name: /^Rent for / }).waitFor();
  await screenshot('content');

  console.log(`journey: buy for ${price} through the wallet`);
  await buyButton.click();
  await page.getByRole('status').filter({ hasText: 'Bought: it is in your library.' }).waitFor({ timeout: BUY_MS });
  await screenshot('bought');
  if (sent.length !== 1) throw new Error(`the wallet sent ${sent.length} transactions, not 1`);

  console.log('journey: open the library');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your library' }).waitFor();
  const item = page.locator('.items li').filter({ has: page.locator(`a[href="/content/${contentId}"]`) });
  await item.getByText('Owned').waitFor();
  await screenshot('library');

  // The same app at desktop width.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${opt.base}/?q=${encodeURIComponent(opt.search)}`);
  await card.waitFor();
  await screenshot('catalogue-desktop');

  if (pageErrors.length) throw new Error(`the page reported errors:\n  ${pageErrors.join('\n  ')}`);
  // What the Rust side checks against the chain: the one transaction the wallet sent.
  console.log(`journey: wallet asked ${[...new Set(asked)].join(', ')}`);
  console.log(`journey: sent ${JSON.stringify(sent.map((s) => ({ ...s, value: s.value.toString() })))}`);
  console.log('journey: ok');
  await browser.close();
} catch (e) {
  if (page) await screenshot('failure').catch(() => {});
  await browser.close().catch(() => {});
  fail(`${e.message}${pageErrors.length ? `\npage errors:\n  ${pageErrors.join('\n  ')}` : ''}`);
}
