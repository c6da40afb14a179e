// One upload through the browser, timed: the creator studio in real Chromium, signed in with the
// test wallet (tests/wallet.mjs), uploads FILE to the PC2 (`ddrm serve`'s pc2 role) and waits
// until the studio says it is packaged and pinned. Reports, in milliseconds from the click on
// Upload: when the last byte was sent (the studio's own progress leaves "Sending"), and when
// the upload was ready to register.
//
// node bench/upload.mjs --base http://127.0.0.1:PORT --rpc http://127.0.0.1:8545 --file FILE
//   (the creator's key in DDRM_BENCH_KEY)
// Prints `upload {"bytes": N, "sent_ms": N, "ready_ms": N}`.

import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createPublicClient, http } from 'viem';
import { connect, makeWallet, openWithWallet } from '../tests/wallet.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const UPLOAD_MS = 60 * 60_000;
const { values: opt } = parseArgs({
  options: { base: { type: 'string' }, rpc: { type: 'string' }, file: { type: 'string' } },
});
function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}
for (const name of ['base', 'rpc', 'file']) if (!opt[name]) fail(`--${name} is required`);
const key = process.env.DDRM_BENCH_KEY;
if (!key) fail('DDRM_BENCH_KEY (the creator’s hex private key) is required');
if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM} (scripts/setup.sh installs it)`);

const transport = http(opt.rpc, { timeout: 20_000, retryCount: 0 });
const rpc = createPublicClient({ transport });
const creator = makeWallet('creator', key, { transport, rpc, id: await rpc.getChainId() });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const errors = [];
try {
  const page = await openWithWallet(browser, creator, { width: 1280, height: 900 }, errors, 30_000);
  await page.goto(`${opt.base}/studio`);
  await connect(page);
  await page.getByRole('button', { name: 'Sign in with Ethereum' }).click();
  await page.getByTestId('signed-in').waitFor();
  await page.getByLabel('Choose a file, or drop one here').setInputFiles(opt.file);
  await page.getByLabel('Title', { exact: true }).fill('Upload benchmark');
  await page.getByLabel('Price (ELA)', { exact: true }).fill('1');
  const upload = page.getByRole('button', { name: 'Upload', exact: true });
  if (await upload.isDisabled()) fail(`Upload is disabled: ${await page.getByTestId('problems').textContent()}`);
  // The page notes when its progress bar's text first leaves "Sending": the last byte went out.
  await page.evaluate(() => {
    window.__sentAt = null;
    const watch = () => {
      const text = document.querySelector('[data-testid="upload-progress"]')?.textContent ?? '';
      if (window.__clickedAt && window.__sentAt === null && text && !/^\s*Sending/.test(text)) {
        window.__sentAt = performance.now();
      }
      requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
    document.addEventListener('click', () => (window.__clickedAt ??= performance.now()), { capture: true });
  });
  await upload.click();
  await page
    .getByRole('status')
    .filter({ hasText: 'Packaged and pinned. Sign the registration' })
    .waitFor({ timeout: UPLOAD_MS });
  const t = await page.evaluate(() => ({ clicked: window.__clickedAt, sent: window.__sentAt, ready: performance.now() }));
  if (errors.length) fail(`the page reported errors:\n  ${errors.join('\n  ')}`);
  const bytes = statSync(opt.file).size;
  console.log(
    `upload ${JSON.stringify({ bytes, sent_ms: Math.round(t.sent - t.clicked), ready_ms: Math.round(t.ready - t.clicked) })}`,
  );
} finally {
  await browser.close();
}
