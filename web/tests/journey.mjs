// Two users' journeys in real Chromium, each in a browser context of its own with its own wallet:
// - the buyer: catalogue → search → content page → buy through the wallet → library;
// - the holder (a royalty holder of the content, watching its page): sees the sale arrive live,
//   finds the royalty it earned on the Earnings page equal to the chain's `claimable` to the wei,
//   claims it into the wallet, lists 1,500 shares (a bad amount first: refused, nothing sent);
// - the buyer, now a trader: fills 400 of the listing; the book shows 1,100 left, the trade
//   history shows the fill, and the holder's open page shows the trade live;
// - the holder, as the creator, in the studio: signs in with Ethereum (a rejected signature
//   first), is refused a 70/20 split, an over-size file, and a registration while the wallet is
//   on another chain or rejected in the wallet (nothing sent, the nonce unchanged); uploads a
//   video (file picker) and a PDF (dropped), each split 70/30 with the producer, watching the
//   progress bar, and registers both through the wallet; "My contents" lists them;
// - the buyer finds both by search, buys the video (priced in the stack's test ERC-20, TUSD: the
//   wallet approves exactly the price, then buys), rents the PDF and subscribes to it, and sees
//   both in the library; the catalogue filters them by how they are offered, by payment token
//   and by price in that token's own units.
// Each wallet is the test wallet of `wallet.mjs`: an EIP-1193 provider injected into the page
// whose every request is answered in Node with a real key, so the app's transactions are
// exactly what a wallet would be asked to sign; it can reject its next request as a user would.
//
// node tests/journey.mjs --base http://127.0.0.1:PORT --rpc http://127.0.0.1:8545 \
//   --search CID --content-id 0x… --producer 0x… --video V.mp4 --pdf P.pdf --oversize BIG --out DIR
//   (keys in DDRM_JOURNEY_KEY, the buyer's, and DDRM_JOURNEY_HOLDER_KEY, a royalty holder's and
//   the studio's creator; BIG is over the server's upload limit, V and P under it)
// Exits 0 when every step held; otherwise prints why and exits 1. Screenshots of each page go
// to DIR. The last lines (`journey: sent …`, `journey: studio video|pdf 0x…`) list each wallet's
// transactions and the studio's new content ids for the caller.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createPublicClient, getAddress, http, parseAbi, parseEther } from 'viem';
import { connect, makeWallet, openWithWallet } from './wallet.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const STEP_MS = 30_000;
const BUY_MS = 120_000;
const LISTED = 1500;
const FILLED = 400;
const UNIT_PRICE = '0.001';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    rpc: { type: 'string' },
    search: { type: 'string' },
    'content-id': { type: 'string' },
    out: { type: 'string' },
    producer: { type: 'string' },
    video: { type: 'string' },
    pdf: { type: 'string' },
    picture: { type: 'string' },
    oversize: { type: 'string' },
  },
});
for (const name of ['base', 'rpc', 'search', 'content-id', 'out', 'producer', 'video', 'pdf', 'picture', 'oversize']) {
  if (!opt[name]) fail(`--${name} is required`);
}
const buyerKey = process.env.DDRM_JOURNEY_KEY;
if (!buyerKey) fail('DDRM_JOURNEY_KEY (the buyer’s hex private key) is required');
const holderKey = process.env.DDRM_JOURNEY_HOLDER_KEY;
if (!holderKey) fail('DDRM_JOURNEY_HOLDER_KEY (a royalty holder’s hex private key) is required');
if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; scripts/setup.sh does)`);
const contentId = opt['content-id'].toLowerCase();
mkdirSync(opt.out, { recursive: true });

function fail(message) {
  console.error(`journey: FAILED: ${message}`);
  process.exit(1);
}

// ---- the wallets, in Node ------------------------------------------------------------------
const transport = http(opt.rpc, { timeout: 20_000, retryCount: 0 });
const chainRpc = createPublicClient({ transport });
const chainId = await chainRpc.getChainId();

const chain = { transport, rpc: chainRpc, id: chainId };
const buyer = makeWallet('buyer', buyerKey, chain);
const holder = makeWallet('holder', holderKey, chain);

/** What the wallet's transactions since `from` cost in gas, in wei. */
async function gasSpent(w, from) {
  let total = 0n;
  for (const s of w.sent.slice(from)) {
    const r = await chainRpc.getTransactionReceipt({ hash: s.hash });
    total += r.gasUsed * r.effectiveGasPrice;
  }
  return total;
}

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
let shot = 0;
const pages = [];
async function screenshot(page, name) {
  shot += 1;
  const path = join(opt.out, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`journey: screenshot ${path}`);
}

/** A page in a browser context of its own whose injected wallet is `w`. */
async function openAs(w, viewport) {
  const page = await openWithWallet(browser, w, viewport, pageErrors, STEP_MS);
  pages.push(page);
  return page;
}

const status = (page, text) => page.getByRole('status').filter({ hasText: text });
const book = (page, side) => page.getByTestId(`${side}s`);

const config = await (await fetch(`${opt.base}/v1/config`)).json();
const SHARES_ABI = parseAbi(['function claimable(address account, uint256 contentId) view returns (uint256)']);
const claimableOnChain = (address) =>
  chainRpc.readContract({
    address: config.contracts.royalty_shares,
    abi: SHARES_ABI,
    functionName: 'claimable',
    args: [address, BigInt(contentId)],
  });

// ---- the creator studio ----------------------------------------------------------------------
const UPLOAD_MS = 600_000;
const VIDEO_TITLE = 'Lighthouse at dawn';
const PDF_TITLE = 'Tide tables field guide';
const VIDEO_DESCRIPTION = 'Two seconds of test pattern and tone, filmed for the studio journey.';
const SUBSCRIPTION_PRICE = '0.05';
const VIDEO_PRICE_TUSD = '2.5';
const TUSD = config.contracts.test_token;
if (!TUSD) fail('/v1/config names no test_token: the journey needs a `ddrm up` stack');
const PDF_DESCRIPTION = 'High and low water for one day, with a picture of the bay.';
/** Another chain than the stack's: the creator's wallet starts on it. */
const WRONG_CHAIN = chainId === 21 ? 20 : 21;

const alert = (page, text) => page.getByRole('alert').filter({ hasText: text });
const nonceOf = (address) => chainRpc.getTransactionCount({ address, blockTag: 'pending' });
const sendsAsked = (w) => w.asked.filter((m) => m === 'eth_sendTransaction').length;

/** Fails unless the wallet `w` sent nothing (neither asked to nor on chain) since `before`. */
async function sentNothing(w, before, what) {
  const now = { sent: w.sent.length, nonce: await nonceOf(w.address) };
  if (now.sent !== before.sent || now.nonce !== before.nonce) {
    throw new Error(`${what} sent a transaction (wallet: ${before.sent} → ${now.sent}, nonce ${before.nonce} → ${now.nonce})`);
  }
}
const walletState = async (w) => ({ sent: w.sent.length, nonce: await nonceOf(w.address), asked: sendsAsked(w) });

/** Starts recording every text the upload's progress bar shows (`progressSeen` reads them). */
function recordProgress(page) {
  return page.evaluate(() => {
    window.__progressSeen = [];
    const record = () => {
      const t = document.querySelector('[data-testid="upload-progress"]')?.textContent?.trim();
      if (t && window.__progressSeen.at(-1) !== t) window.__progressSeen.push(t);
    };
    window.__progressObserver?.disconnect();
    window.__progressObserver = new MutationObserver(record);
    window.__progressObserver.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}
const progressSeen = (page) => page.evaluate(() => window.__progressSeen);

/** Drops the file at `path` on the studio's drop zone, as dragging it from the desktop would. */
async function dropFile(page, path, type) {
  const bytes = readFileSync(path).toString('base64');
  const name = basename(path);
  const transfer = await page.evaluateHandle(
    ([b64, fileName, mime]) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], fileName, { type: mime }));
      return dt;
    },
    [bytes, name, type],
  );
  await page.getByTestId('dropzone').dispatchEvent('dragover', { dataTransfer: transfer });
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: transfer });
  await page.getByTestId('chosen').filter({ hasText: name }).waitFor();
}

/**
 * Uploads what the form holds, then (after `beforeRegistering`, for refusals to try first) signs
 * its registration; returns the new content's id.
 */
async function uploadAndPublish(page, w, label, beforeRegistering = async () => {}) {
  const upload = page.getByRole('button', { name: 'Upload', exact: true });
  if (await upload.isDisabled()) {
    throw new Error(`Upload is disabled for the ${label}: ${await page.getByTestId('problems').textContent()}`);
  }
  await recordProgress(page);
  await upload.click();
  await status(page, 'Packaged and pinned. Sign the registration').waitFor({ timeout: UPLOAD_MS });
  const stages = await progressSeen(page);
  console.log(`journey: ${label} upload progress: ${stages.join(' | ')}`);
  if (!stages.some((t) => t.startsWith('Sending:'))) throw new Error(`the ${label}'s progress never showed bytes sent`);
  if (!stages.some((t) => /^(Received|Packaging|Pinning)/.test(t))) throw new Error(`the ${label}'s progress never showed a stage`);
  if (stages.at(-1) !== 'Packaged and pinned') throw new Error(`the ${label}'s progress ended at ${stages.at(-1)}`);
  await beforeRegistering();
  console.log(`journey: register the ${label} through the wallet`);
  const before = w.sent.length;
  await page.getByRole('button', { name: 'Sign the registration in your wallet' }).click();
  await status(page, 'Published: it is in the catalogue.').waitFor({ timeout: BUY_MS });
  if (w.sent.length !== before + 1) throw new Error(`registering the ${label} sent ${w.sent.length - before} transactions`);
  const href = await status(page, 'Published').getByRole('link', { name: 'Open its page' }).getAttribute('href');
  const id = /^\/content\/(0x[0-9a-f]{64})$/.exec(href)?.[1];
  if (!id) throw new Error(`the ${label}'s page link is ${href}`);
  return id;
}

/**
 * The creator signs in, is refused a bad split, an over-size file and a registration from a
 * wallet on the wrong chain or rejected in the wallet (nothing sent), then uploads and publishes
 * a video (picked) and a PDF (dropped), each split 70/30 with the producer.
 */
async function creatorStudio(studio, w) {
  console.log('journey: the creator opens the studio on a wallet left on another chain');
  w.chainId = WRONG_CHAIN;
  await studio.setViewportSize({ width: 1280, height: 900 });
  await studio.goto(`${opt.base}/studio`);
  await studio.getByRole('heading', { level: 1, name: 'Creator studio' }).waitFor();
  await connect(studio);
  const signInButton = studio.getByRole('button', { name: 'Sign in with Ethereum' });

  console.log('journey: a rejected sign-in signature signs nothing in');
  w.rejectNext = true;
  await signInButton.click();
  await alert(studio, 'You rejected the sign-in request in your wallet; you are not signed in.').waitFor();
  await signInButton.waitFor();

  console.log('journey: sign in with Ethereum');
  await signInButton.click();
  await studio.getByTestId('signed-in').waitFor();
  const token = await studio.evaluate(() => JSON.parse(sessionStorage.getItem('ddrm.session')).token);
  const who = await (await fetch(`${opt.base}/v1/auth/session`, { headers: { authorization: `Bearer ${token}` } })).json();
  if (getAddress(who.address) !== w.address) throw new Error(`the session is for ${who.address}, not ${w.address}`);

  console.log('journey: the video’s terms and a 70/20 split (refused)');
  await studio.getByLabel('Title', { exact: true }).fill(VIDEO_TITLE);
  // Priced in the stack's test ERC-20 (the buyer approves it, then buys).
  await studio.getByRole('radio', { name: 'An ERC-20 token' }).check();
  await studio.getByLabel('Token address').fill(TUSD);
  await studio.getByText('TUSD, 6 decimals').waitFor();
  await studio.getByLabel('Price (TUSD)', { exact: true }).fill(VIDEO_PRICE_TUSD);
  await studio.getByLabel('Editions (empty: no limit)', { exact: true }).fill('100');
  await studio.getByLabel('Holder 1 share (%)').fill('70');
  await studio.getByRole('button', { name: 'Add a holder' }).click();
  await studio.getByLabel('Holder 2 address').fill(opt.producer);
  await studio.getByLabel('Holder 2 share (%)').fill('20');
  await studio.getByLabel('Choose a file, or drop one here').setInputFiles(opt.video);
  const upload = studio.getByRole('button', { name: 'Upload', exact: true });
  await studio.getByTestId('problems').filter({ hasText: 'The split sums to 90.00 %; it must be exactly 100.00 %.' }).waitFor();
  if (!(await upload.isDisabled())) throw new Error('Upload is enabled with a 70/20 split');
  await screenshot(studio, 'studio-bad-split');
  await studio.getByLabel('Holder 2 share (%)').fill('30');
  await studio.getByTestId('split-total').filter({ hasText: 'Total: 100.00 % of 100.00 %' }).waitFor();

  console.log('journey: an over-size file is refused and nothing is registered');
  const uploadsPosted = [];
  studio.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/v1/uploads') && uploadsPosted.push(r.url()));
  const beforeBig = await walletState(w);
  await studio.getByLabel('Choose a file, or drop one here').setInputFiles(opt.oversize);
  if (config.uploads?.max_bytes) {
    // The server says its limit: the studio refuses before sending a byte.
    await studio.getByTestId('problems').filter({ hasText: /is 9\.0 MiB; this server takes files up to 8\.0 MiB\./ }).waitFor();
    if (!(await upload.isDisabled())) throw new Error('Upload is enabled for an over-size file');
    if (uploadsPosted.length) throw new Error('an over-size file was sent');
  } else {
    // A server that does not say its limit refuses the upload itself.
    console.log('journey: /v1/config has no uploads limit: the server refuses the over-size file');
    await upload.click();
    await alert(studio, 'The file is larger than this server accepts').waitFor({ timeout: UPLOAD_MS });
    // Chromium logs the refused request itself; that one is expected.
    const expected = (e) => /status of 413/.test(e);
    pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !expected(e)));
  }
  await screenshot(studio, 'studio-too-big');
  await sentNothing(w, beforeBig, 'an over-size upload');

  console.log('journey: upload the video (file picker)');
  await studio.getByLabel('Choose a file, or drop one here').setInputFiles(opt.video);
  await studio.getByLabel('Description', { exact: true }).fill(VIDEO_DESCRIPTION);
  await screenshot(studio, 'studio');

  const videoId = await uploadAndPublish(studio, w, 'video', async () => {
    console.log('journey: a wallet on the wrong chain is told to switch and sends nothing');
    const beforeWrong = await walletState(w);
    await studio.getByRole('button', { name: 'Sign the registration in your wallet' }).click();
    await alert(studio, `Your wallet is on chain ${WRONG_CHAIN}: switch your wallet to`).waitFor();
    await sentNothing(w, beforeWrong, 'a registration on the wrong chain');
    if (sendsAsked(w) !== beforeWrong.asked) throw new Error('the wallet was asked to send on the wrong chain');
    await screenshot(studio, 'studio-wrong-chain');
    await studio.getByRole('button', { name: /^Switch wallet to / }).click();
    await alert(studio, 'switch your wallet').waitFor({ state: 'detached' });
    if (w.chainId !== chainId) throw new Error('the wallet was not switched to the stack’s chain');

    console.log('journey: a rejected registration sends nothing');
    const beforeReject = await walletState(w);
    w.rejectNext = true;
    await studio.getByRole('button', { name: 'Sign the registration in your wallet' }).click();
    await alert(studio, 'You rejected the request in your wallet; nothing was sent.').waitFor();
    await sentNothing(w, beforeReject, 'a rejected registration');
  });
  await screenshot(studio, 'studio-published');

  console.log('journey: upload the PDF (dropped on the page), 70/30 as before');
  await studio.getByRole('button', { name: 'Upload another' }).click();
  await dropFile(studio, opt.pdf, 'application/pdf');
  await studio.getByLabel('Title', { exact: true }).fill(PDF_TITLE);
  await studio.getByLabel('Description', { exact: true }).fill(PDF_DESCRIPTION);
  await studio.getByLabel(/^Picture for the catalogue/).setInputFiles(opt.picture);
  await studio.getByLabel(/^Free preview/).setInputFiles(opt.picture);
  // The form keeps the last upload's terms: the PDF is paid in the chain's own token.
  await studio.getByRole('radio', { name: /the chain.s own token/ }).check();
  await studio.getByLabel('Price (ELA)', { exact: true }).fill('1');
  await studio.getByLabel('Rent price (ELA)', { exact: true }).fill('0.1');
  await studio.getByLabel('Rental period', { exact: true }).fill('1');
  await studio.getByLabel('Subscription price (ELA)', { exact: true }).fill(SUBSCRIPTION_PRICE);
  await studio.getByLabel('Subscription period', { exact: true }).fill('1');
  await studio.getByTestId('split-total').filter({ hasText: 'Total: 100.00 % of 100.00 %' }).waitFor();
  const pdfId = await uploadAndPublish(studio, w, 'PDF');

  console.log('journey: My contents lists both');
  for (const id of [videoId, pdfId]) await studio.locator(`[data-testid="my-contents"] tr[data-content="${id}"]`).waitFor();
  await screenshot(studio, 'studio-mine');
  await studio.setViewportSize({ width: 390, height: 844 });
  const wide = await studio.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) throw new Error(`the studio is ${wide} px wide on a 390 px screen`);
  await screenshot(studio, 'studio-phone');
  return { videoId, pdfId };
}

/** The buyer finds `title` by search and gets it (`action`: Buy or Rent); returns its id. */
/** Waits until `img` has loaded a real picture (not a broken image). */
async function shown(img, what) {
  await img.waitFor();
  const width = await img.evaluate(
    (el) => new Promise((resolve) => (el.complete ? resolve(el.naturalWidth) : (el.onload = el.onerror = () => resolve(el.naturalWidth)))),
  );
  if (!(width > 0)) throw new Error(`${what} did not load`);
}

async function findAndGet(page, title, description, action, done, withPreview = false, transactions = 1) {
  await page.goto(`${opt.base}/?q=${encodeURIComponent(title)}`);
  await page.getByRole('heading', { level: 1, name: 'Catalogue' }).waitFor();
  await page.getByRole('link', { name: title }).waitFor();
  const cards = await page.locator('.cards > li').count();
  if (cards !== 1) throw new Error(`the search for ${title} found ${cards} contents, not 1`);
  // Its card shows the picture from its header (a frame of the video, the PDF's own picture).
  await shown(page.locator('.cards > li img'), `${title}'s card picture`);
  await page.getByRole('link', { name: title }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  await page.getByText(description).waitFor();
  await shown(page.getByRole('img', { name: `Picture of ${title}` }), `${title}'s picture`);
  if (withPreview) await shown(page.getByRole('img', { name: `Preview of ${title}` }), `${title}'s free preview`);
  await connect(page);
  const before = buyer.sent.length;
  await page.getByRole('button', { name: new RegExp(`^${action} for `) }).click();
  await status(page, done).waitFor({ timeout: BUY_MS });
  if (buyer.sent.length !== before + transactions) {
    throw new Error(`${action} sent ${buyer.sent.length - before} transactions, not ${transactions}`);
  }
}

try {
  // The holder watches the content's page from before the sale (desktop width).
  const watching = await openAs(holder, { width: 1280, height: 900 });
  await watching.goto(`${opt.base}/content/${contentId}`);
  await watching.getByRole('heading', { name: 'Royalty market' }).waitFor();
  const salesBefore = (await watching.getByTestId('sales').textContent()).trim();

  // Phone width: the app's users read it on phones.
  const page = await openAs(buyer, { width: 390, height: 844 });
  console.log(`journey: open ${opt.base}/`);
  await page.goto(`${opt.base}/`);
  await page.getByRole('heading', { level: 1, name: 'Catalogue' }).waitFor();
  await status(page, /content|No contents/).waitFor();
  await screenshot(page, 'catalogue');

  console.log(`journey: search ${opt.search}`);
  await page.getByLabel('Search').fill(opt.search);
  await page.getByRole('button', { name: 'Search' }).click();
  const card = page.locator(`a[href="/content/${contentId}"]`);
  await card.waitFor();
  const cards = await page.locator('.cards > li').count();
  if (cards !== 1) throw new Error(`the search for ${opt.search} found ${cards} contents, not 1`);
  await screenshot(page, 'search');

  console.log('journey: open the content page');
  await card.click();
  await page.waitForURL(`**/content/${contentId}`);
  await page.getByRole('heading', { name: 'Royalty holders' }).waitFor();
  const price = (await page.getByTestId('price').textContent()).trim();
  await connect(page);
  const buyButton = page.getByRole('button', { name: `Buy for ${price}` });
  await buyButton.waitFor();
  await page.getByRole('button', { name: /^Rent for / }).waitFor();
  await screenshot(page, 'content');

  console.log('journey: a rejected signature sends nothing and says so');
  buyer.rejectNext = true;
  await buyButton.click();
  await page.getByRole('alert').filter({ hasText: 'You rejected the request in your wallet; nothing was sent.' }).waitFor();
  if (buyer.sent.length !== 0) throw new Error(`a rejected buy sent ${buyer.sent.length} transactions`);

  console.log(`journey: buy for ${price} through the wallet`);
  await buyButton.click();
  await status(page, 'Bought: it is in your library.').waitFor({ timeout: BUY_MS });
  await screenshot(page, 'bought');
  if (buyer.sent.length !== 1) throw new Error(`the wallet sent ${buyer.sent.length} transactions, not 1`);

  console.log('journey: the holder’s open page shows the sale live');
  const salesAfter = String(Number(salesBefore) + 1);
  await watching.getByTestId('sales').filter({ hasText: new RegExp(`^\\s*${salesAfter}\\s*$`) }).waitFor();
  // …and the realised yield per share, from the index's distributions.
  await watching.getByRole('img', { name: /^Earned per share: 1 point, latest (?!0 )[0-9.e-]+ / }).waitFor();
  await screenshot(watching, 'sale-live');

  console.log('journey: open the library');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your library' }).waitFor();
  const item = page.locator('.items li').filter({ has: page.locator(`a[href="/content/${contentId}"]`) });
  await item.getByText('Owned').waitFor();
  await screenshot(page, 'library');

  console.log('journey: the holder’s earnings equal the chain’s claimable, and a claim pays them');
  await connect(watching);
  await watching.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Earnings' }).click();
  await watching.getByRole('heading', { level: 1, name: 'Earnings' }).waitFor();
  const row = watching.locator(`tr[data-content="${contentId}"]`);
  const shown = BigInt(await row.getByTestId('claimable').getAttribute('data-wei'));
  const onChain = await claimableOnChain(holder.address);
  if (shown !== onChain || shown === 0n) throw new Error(`earnings show ${shown} wei claimable; the chain says ${onChain}`);
  await screenshot(watching, 'earnings');
  const balanceBefore = await chainRpc.getBalance({ address: holder.address });
  const claimFrom = holder.sent.length;
  await row.getByRole('button', { name: /^Claim / }).click();
  await status(watching, 'Claimed: the revenue is in your wallet.').waitFor({ timeout: BUY_MS });
  const balanceAfter = await chainRpc.getBalance({ address: holder.address });
  const gas = await gasSpent(holder, claimFrom);
  if (balanceAfter !== balanceBefore + shown - gas) {
    throw new Error(`the claim moved ${balanceAfter - balanceBefore + gas} wei to the wallet, not ${shown}`);
  }
  if ((await claimableOnChain(holder.address)) !== 0n) throw new Error('claimable is not 0 after the claim');
  await row.getByTestId('claimable').filter({ hasText: /^0 / }).waitFor();
  // The claim heads the history, for exactly what it paid.
  await watching.getByTestId('claims').locator('tbody tr').first().locator(`td[data-wei="${shown}"]`).waitFor();
  await screenshot(watching, 'claimed');

  // The trader has the content's page open before the listing: it arrives live (an `order` event).
  await page.goto(`${opt.base}/content/${contentId}`);
  await connect(page);
  await page.getByRole('heading', { name: 'Royalty market' }).waitFor();

  console.log(`journey: the holder lists ${LISTED} shares (a bad amount first)`);
  await watching.goto(`${opt.base}/content/${contentId}`);
  await connect(watching);
  const sentBeforeBad = holder.sent.length;
  await watching.getByRole('textbox', { name: 'Shares', exact: true }).fill('20000');
  await watching.getByRole('textbox', { name: /^Price per share/ }).fill(UNIT_PRICE);
  await watching.getByRole('button', { name: 'List shares' }).click();
  await watching.getByRole('alert').filter({ hasText: /Enter a whole number of shares from 1 to \d+\./ }).waitFor();
  if (holder.sent.length !== sentBeforeBad) throw new Error('a refused listing sent a transaction');
  await screenshot(watching, 'bad-listing');
  await watching.getByRole('textbox', { name: 'Shares', exact: true }).fill(String(LISTED));
  await watching.getByRole('button', { name: 'List shares' }).click();
  await status(watching, `Listing ${LISTED} shares: done.`).waitFor({ timeout: BUY_MS });
  const listed = book(watching, 'listing').locator('tbody tr').filter({ hasText: 'you' });
  await listed.filter({ hasText: String(LISTED) }).waitFor();
  const listingId = (await listed.locator('td').first().textContent()).trim();
  await screenshot(watching, 'listed');

  console.log('journey: the trader’s open page shows the new listing live');
  await book(page, 'listing').locator('tbody tr').filter({ hasText: String(LISTED) }).waitFor();
  await screenshot(page, 'listing-live');

  console.log(`journey: the trader fills ${FILLED} of listing ${listingId}`);
  const fillFrom = buyer.sent.length;
  await page.getByLabel(`Shares to buy in listing ${listingId}`).fill(String(FILLED));
  await page.getByRole('button', { name: `Buy from listing ${listingId}` }).click();
  await status(page, `Buying ${FILLED} shares: done.`).waitFor({ timeout: BUY_MS });
  if (buyer.sent.length !== fillFrom + 1) throw new Error(`the fill sent ${buyer.sent.length - fillFrom} transactions, not 1`);
  if (buyer.sent[fillFrom].value !== parseEther(UNIT_PRICE) * BigInt(FILLED)) {
    throw new Error(`the fill paid ${buyer.sent[fillFrom].value} wei`);
  }
  await book(page, 'listing').locator('tbody tr').filter({ hasText: String(LISTED - FILLED) }).waitFor();
  await page.getByTestId('trades').locator('tbody tr').filter({ hasText: String(FILLED) }).first().waitFor();
  await screenshot(page, 'filled');

  console.log('journey: the holder’s open page shows the trade live');
  await watching.getByTestId('trades').locator('tbody tr').filter({ hasText: String(FILLED) }).first().waitFor();
  await book(watching, 'listing').locator('tbody tr').filter({ hasText: String(LISTED - FILLED) }).waitFor();
  await screenshot(watching, 'trade-live');

  const { videoId, pdfId } = await creatorStudio(watching, holder);

  console.log('journey: the buyer finds both by search, buys the video and rents the PDF');
  await page.setViewportSize({ width: 390, height: 844 });
  const beforeVideo = buyer.sent.length;
  await findAndGet(page, VIDEO_TITLE, VIDEO_DESCRIPTION, 'Buy', 'Bought: it is in your library.', false, 2);
  // An ERC-20 price: the wallet approved the Access contract for exactly the price, then bought.
  const [approval, purchase] = buyer.sent.slice(beforeVideo);
  if (approval.to !== TUSD.toLowerCase() || !approval.data.startsWith('0x095ea7b3')) {
    throw new Error(`the first transaction for the video was not an approval of TUSD: ${JSON.stringify({ ...approval, value: String(approval.value) })}`);
  }
  if (purchase.to !== config.contracts.access.toLowerCase() || purchase.value !== 0n) {
    throw new Error('the video was not bought from the Access contract without native value');
  }
  await screenshot(page, 'studio-video-bought');
  await findAndGet(page, PDF_TITLE, PDF_DESCRIPTION, 'Rent', 'Rented: it is in your library.', true);
  console.log('journey: the buyer also subscribes to the PDF (a subscription extends the access)');
  const beforeSubscribing = buyer.sent.length;
  await page.getByRole('button', { name: /^Subscribe for 1 day for / }).click();
  await status(page, 'Subscribed: it is in your library.').waitFor({ timeout: BUY_MS });
  if (buyer.sent.length !== beforeSubscribing + 1) throw new Error('subscribing sent no single transaction');
  if (buyer.sent[beforeSubscribing].value !== parseEther(SUBSCRIPTION_PRICE)) {
    throw new Error(`the subscription paid ${buyer.sent[beforeSubscribing].value} wei, not ${SUBSCRIPTION_PRICE} ELA`);
  }
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Library' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your library' }).waitFor();
  const entry = (id) => page.locator('.items li').filter({ has: page.locator(`a[href="/content/${id}"]`) });
  await entry(videoId).getByText('Owned').waitFor();
  await entry(pdfId).getByText(/^Subscribed until /).waitFor();
  await screenshot(page, 'library-studio');

  // The same app at desktop width.
  await page.setViewportSize({ width: 1280, height: 800 });

  console.log('journey: the catalogue filters by how a content is offered and by price');
  const carded = async (title) => (await page.getByRole('link', { name: title, exact: true }).count()) > 0;
  const settled = () => page.getByRole('status').filter({ hasText: /as of block|No contents match/ }).waitFor();
  await page.goto(`${opt.base}/`);
  /** Searches with the form as `fill` leaves it: the URL must match `url`, the catalogue list
   *  `shows` and not `hides`. */
  const filtered = async (fill, url, shows, hides, why) => {
    await fill();
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(url);
    await page.getByRole('link', { name: shows, exact: true }).waitFor();
    await settled();
    if (await carded(hides)) throw new Error(why);
  };
  await filtered(
    () => page.getByLabel('Offered').selectOption('rent'),
    /access=rent/,
    PDF_TITLE,
    VIDEO_TITLE,
    'the video, not for rent, is listed under "To rent"',
  );
  const priced = (from, to) => async () => {
    await page.getByLabel('Price from').fill(from);
    await page.getByLabel('to', { exact: true }).fill(to);
  };
  await filtered(
    async () => {
      await page.getByLabel('Offered').selectOption('');
      await page.getByLabel('Paid in').selectOption('other');
      await page.getByLabel('Token address').fill(TUSD);
      // Typed in TUSD once the app has read the token's decimals from the chain.
      await page.getByTestId('price-unit').filter({ hasText: 'in TUSD' }).waitFor();
      await priced('2', '3')();
    },
    /min=2000000&max=3000000/,
    VIDEO_TITLE,
    PDF_TITLE,
    'the PDF (paid in ELA) is listed as paid in TUSD',
  );
  await filtered(
    async () => {
      await page.getByLabel('Paid in').selectOption('native');
      await priced('0.5', '1.5')();
    },
    /min=500000000000000000&max=1500000000000000000/,
    PDF_TITLE,
    VIDEO_TITLE,
    'the video (paid in TUSD) is listed as paid in ELA',
  );
  await screenshot(page, 'catalogue-filtered');

  await page.goto(`${opt.base}/?q=${encodeURIComponent(opt.search)}`);
  await card.waitFor();
  await screenshot(page, 'catalogue-desktop');

  if (pageErrors.length) throw new Error(`the page reported errors:\n  ${pageErrors.join('\n  ')}`);
  // What the Rust side checks against the chain: each wallet's transactions.
  for (const w of [buyer, holder]) {
    console.log(`journey: ${w.name} wallet asked ${[...new Set(w.asked)].join(', ')}`);
    console.log(`journey: ${w.name} sent ${JSON.stringify(w.sent.map((x) => ({ ...x, value: x.value.toString() })))}`);
  }
  console.log(`journey: listing ${listingId}`);
  console.log(`journey: studio video ${videoId}`);
  console.log(`journey: studio pdf ${pdfId}`);
  console.log('journey: ok');
  await browser.close();
} catch (e) {
  for (const p of pages) await screenshot(p, 'failure').catch(() => {});
  await browser.close().catch(() => {});
  fail(`${e.message}${pageErrors.length ? `\npage errors:\n  ${pageErrors.join('\n  ')}` : ''}`);
}
