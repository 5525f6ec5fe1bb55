// The web companion beyond the basic insecure-context play: the better decoding path
// where the browser offers it (WebCodecs in a secure context), a tab that stalls in
// the background and comes back, and joins that wait for the owner or are refused.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { sleep } from '../../firmware/util/time.ts';
import { launchChromium, listen, PAGE_HOST, pageClockOfMonoMs, playerStats, recordSchedule, scheduleErrors, waitMessage } from '../helpers/browser.ts';
import { startBox, type BoxProcess } from '../helpers/box-process.ts';
import { itemAt } from '../../firmware/util/checked-index.ts';

const median = (xs: number[]) =>
  itemAt(
    [...xs].sort((a, b) => a - b),
    Math.floor(xs.length / 2),
    'median of no values',
  );

/** the page's decoding path, once its decoder is ready (a WebAssembly decoder compiles after the page says it is listening) */
async function decodePath(page: Page): Promise<string | null> {
  for (let i = 0; i < 100; i++) {
    const { path } = await playerStats(page);
    if (path !== null) return path;
    await sleep(100);
  }
  return null;
}

describe('web companion: decoding paths, background tab, approval (headless Chromium)', function () {
  this.timeout(120_000);
  let dir: string;
  let box: BoxProcess;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-webp-'));
    box = await startBox(['--source', 'tone:440', '--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')]);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (box) expect(await box.stop()).to.equal(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses WebCodecs where the page is a secure context (localhost), and plays in sync with the box', async () => {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${box.ports.http}/`);
    expect(await page.evaluate(() => window.isSecureContext)).to.equal(true);
    await page.click('#join');
    await waitMessage(page, /^listening$/);
    await sleep(1500);
    expect(await decodePath(page)).to.equal('webcodecs');
    const heard = await listen(page);
    expect(heard.peak, 'audible').to.be.greaterThan(0.05);
    expect(heard.hz, `the tone heard: ${JSON.stringify(heard)}`).to.be.within(430, 450);
    await recordSchedule(page);
    await sleep(3000);
    const errs = await scheduleErrors(page, await pageClockOfMonoMs(page));
    expect(errs.length, 'chunks scheduled in 3 s').to.be.greaterThan(100);
    const sorted = [...errs].sort((a, b) => a - b);
    const spread = `${errs.length} chunks: min ${sorted[0]?.toFixed(2)}, p5 ${sorted[Math.floor(0.05 * sorted.length)]?.toFixed(2)}, p95 ${sorted[Math.floor(0.95 * sorted.length)]?.toFixed(2)}, max ${sorted.at(-1)?.toFixed(2)} ms`;
    expect(Math.abs(median(errs)), `median error against the box clock, ms (${spread})`).to.be.lessThan(3);
    expect(await page.textContent('#sync')).to.include('WebCodecs');
    const s = await playerStats(page);
    expect(s.decodeErrors).to.equal(0);
    await page.close();
  });

  it('comes back in sync after a stall in the background (hidden, main thread frozen 4 s, visible again)', async () => {
    const page = await browser.newPage();
    await page.goto(`http://${PAGE_HOST}:${box.ports.http}/`);
    await page.click('#join');
    await waitMessage(page, /^listening$/);
    expect(await decodePath(page)).to.equal('wasm');
    await sleep(2000);
    await recordSchedule(page);
    await sleep(2000);
    const wallOfMono = await pageClockOfMonoMs(page);
    const before = await scheduleErrors(page, wallOfMono);
    const underrunsBefore = (await playerStats(page)).underruns;
    // what a phone does to a background tab: hidden, then its main thread does not run at all
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
      const until = performance.now() + 4000;
      while (performance.now() < until) {
        /* frozen */
      }
    });
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await sleep(2000);
    await scheduleErrors(page, wallOfMono); // drop the recovery itself
    await sleep(2000);
    const after = await scheduleErrors(page, wallOfMono);
    const st = { ...(await playerStats(page)), ...(await page.evaluate(() => ({ visibleAgain: window.__nearcastApp?.visibleAgain(), joined: window.__nearcastApp?.joined() }))) };
    expect(st.joined, 'still joined: the stall is not a lost network').to.equal(true);
    expect(st.visibleAgain).to.equal(1);
    expect(st.underruns + st.late, 'the stall starved the schedule').to.be.greaterThan(underrunsBefore);
    expect(after.length, 'chunks scheduled after the stall').to.be.greaterThan(60);
    // the page's error wanders within about 1 ms from one second to the next (2.07 ms once, in a double run of two
    // suites at once); a stale anchor would be a chunk (20 ms) or more
    const what = `median error against the box clock ${median(before).toFixed(2)} ms before the stall, ${median(after).toFixed(2)} ms after (${before.length} and ${after.length} chunks)`;
    expect(Math.abs(median(after) - median(before)), `lasting offset, ms: ${what}`).to.be.lessThan(5);
    const heard = await listen(page);
    expect(heard.hz, `the tone heard: ${JSON.stringify(heard)}`).to.be.within(430, 450);
    await page.close();
  });

  it('says when a join waits for the owner, plays once approved, and says when it is refused', async () => {
    const b2 = await startBox(['--source', 'tone:440', '--policy', 'button', '--audio-device', 'none', '--state-dir', path.join(dir, 'state2')], {
      NEARCAST_HARDWARE__KEYBOARD: 'true',
      NEARCAST_HARDWARE__SIM: 'true',
    }); // buttons from stdin
    const page = await browser.newPage();
    try {
      await page.goto(`http://${PAGE_HOST}:${b2.ports.http}/`);
      await page.waitForFunction(() => document.getElementById('availability')?.className === 'online', null, { timeout: 10_000 });
      await page.click('#join');
      await waitMessage(page, /waiting for the owner to approve/);
      b2.press('share'); // a click approves the oldest pending join
      await waitMessage(page, /^listening$/);
      await page.click('#join'); // Leave
      await waitMessage(page, /^left$/);
      await page.click('#join');
      await waitMessage(page, /waiting for the owner to approve/);
      b2.press('share long'); // stop sharing: pending joins are refused
      await waitMessage(page, /join refused: sharing stopped on the box/);
      expect(await page.textContent('#join')).to.equal('Join');
      expect(await page.getAttribute('#message', 'class')).to.equal('error');
    } finally {
      await page.close();
      await b2.stop();
    }
  });
});
