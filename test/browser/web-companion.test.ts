// The web companion in real headless Chromium against a real box process, loaded
// over plain HTTP from a non-localhost name: the insecure-context path a phone gets.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, listen, PAGE_HOST, waitMessage } from '../helpers/browser.ts';
import { startBox, type BoxProcess } from '../helpers/box-process.ts';
import { makeTestMusic } from '../helpers/test-music.ts';

describe('web companion (headless Chromium, insecure context)', function () {
  this.timeout(90_000);
  let dir: string;
  let box: BoxProcess;
  let browser: Browser;
  let page: Page;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-web-'));
    makeTestMusic(path.join(dir, 'music'), 20);
    box = await startBox([
      '--music',
      path.join(dir, 'music'),
      '--source',
      'tone:440',
      '--policy',
      'open',
      '--audio-device',
      'none',
      '--no-keyboard',
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://${PAGE_HOST}:${box.ports.http}/`);
  });
  after(async () => {
    await browser?.close();
    if (box) expect(await box.stop()).to.equal(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is served by the box and is not a secure context (no AudioWorklet, no WebCodecs)', async () => {
    const env = await page.evaluate(() => ({ secure: window.isSecureContext, worklet: 'audioWorklet' in BaseAudioContext.prototype, webcodecs: 'AudioDecoder' in window }));
    expect(env).to.deep.equal({ secure: false, worklet: false, webcodecs: false });
    await page.waitForFunction(() => document.getElementById('availability')?.className === 'online', null, { timeout: 10_000 });
  });

  it("joins and plays the box's 440 Hz tone through WebAssembly Opus and scheduled buffers", async () => {
    await page.click('#join');
    await waitMessage(page, /^listening$/);
    const hz = await listen(page, 1500, 32768);
    expect(hz.peak, 'audible').to.be.greaterThan(0.05);
    expect(hz.hz, `the tone heard: ${JSON.stringify(hz)}`).to.be.within(430, 450);
  });

  it('a song asked for by name becomes now playing', async () => {
    await page.fill('#search', 'mon rivr');
    await page.waitForSelector('#results li', { timeout: 10_000 });
    expect(await page.textContent('#results li')).to.include('Moon River');
    await page.click('#results li');
    await page.waitForFunction(() => document.getElementById('title')?.textContent === 'Moon River', null, { timeout: 10_000 });
  });

  it('a malformed message from the box shows an error, and the page recovers (rejoins) instead of freezing', async () => {
    await page.evaluate(() => window.__nearcast?.protocol.receive(new Uint8Array([0, 0, 0, 3, 0xee, 1, 2])));
    await waitMessage(page, /stream (error|lost)/, 5000);
    await waitMessage(page, /^listening$/, 15_000);
    await page.fill('#search', 'cafe');
    await page.waitForFunction(() => /Café Olé/.test(document.getElementById('results')?.textContent ?? ''), null, { timeout: 10_000 });
  });

  it('renders at phone size (docs/web-companion.png in the README is such a shot), and leaves', async () => {
    const png = await page.screenshot({ path: path.join(dir, 'phone.png') });
    expect(png.readUInt32BE(16), 'width').to.equal(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), 'no sideways scrolling').to.be.at.most(390);
    expect(await page.textContent('#join')).to.equal('Leave');
    await page.click('#join'); // Leave
    await waitMessage(page, /^left$/, 5000);
    expect(await page.textContent('#join')).to.equal('Join');
  });
});
