// The catalogue page's load in real Chromium, cold (a new browser context per run: no cache, no
// service worker): time to first contentful paint (the browser's own `paint` entry) and time
// until the page is usable, taken as the moment the app has rendered the first catalogue card
// from the API (the app's script has run, fetched the page and drawn it; its buttons answer
// from then on). Both from navigation start, in milliseconds, on loopback.
//
// node bench/catalogue.mjs --base http://127.0.0.1:PORT --runs 15
// Prints one JSON line per run, then `summary {...}` with medians.

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const { values: opt } = parseArgs({ options: { base: { type: 'string' }, runs: { type: 'string', default: '15' } } });
if (!opt.base) {
  console.error('bench: --base is required');
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`bench: no Chromium at ${CHROMIUM} (scripts/setup.sh installs it)`);
  process.exit(1);
}
const runs = Number(opt.runs);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const fcp = [];
const ready = [];
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${opt.base}/`, { waitUntil: 'commit' });
    await page.waitForFunction(() => document.querySelectorAll('.cards > li').length > 0, null, {
      polling: 'raf',
      timeout: 30_000,
    });
    const readyAt = await page.evaluate(() => performance.now());
    // The paint entry is queued once the frame is presented, which can be after the check above.
    await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0, null, {
      timeout: 10_000,
    });
    const t = {
      ready: readyAt,
      fcp: await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime),
    };
    fcp.push(t.fcp);
    ready.push(t.ready);
    console.log(JSON.stringify({ run: i + 1, fcp_ms: Math.round(t.fcp), ready_ms: Math.round(t.ready) }));
    await context.close();
  }
} finally {
  await browser.close();
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(
  `summary ${JSON.stringify({
    runs,
    fcp_median_ms: Math.round(median(fcp)),
    fcp_max_ms: Math.round(Math.max(...fcp)),
    ready_median_ms: Math.round(median(ready)),
    ready_max_ms: Math.round(Math.max(...ready)),
  })}`,
);
