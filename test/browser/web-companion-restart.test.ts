// The web companion survives the box restarting: MQTT reconnects and the page
// joins again by itself (real box processes on fixed loopback ports, headless Chromium).

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, PAGE_HOST, waitMessage } from '../helpers/browser.ts';
import { startBox, type BoxProcess } from '../helpers/box-process.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('web companion across a box restart (headless Chromium)', function () {
  this.timeout(120_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-webr-'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (box) await box.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows that the box is gone, then reconnects and plays again when it is back; notices a network that goes silent', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const args = [
      '--source',
      'tone:440',
      '--policy',
      'open',
      '--audio-device',
      'none',
      '--no-keyboard',
      '--box-id',
      'rb',
      '--state-dir',
      path.join(dir, 'state'),
      '--mqtt-port',
      String(ports[0]),
      '--http-port',
      String(ports[1]),
      '--stream-port',
      String(ports[2]),
    ];
    box = await startBox(args);
    const page = await browser.newPage();
    await page.goto(`http://${PAGE_HOST}:${ports[1]}/`);
    await page.waitForFunction(() => document.getElementById('availability')?.className === 'online', null, { timeout: 10_000 });
    await page.click('#join');
    await waitMessage(page, /^listening$/);
    const b = box;
    box = null;
    expect(await b.stop(), b.logs.slice(-5).join('\n')).to.equal(0);
    await waitMessage(page, /went away|stream lost/, 10_000);
    expect(await page.getAttribute('#availability', 'class')).to.equal('offline');
    box = await startBox(args);
    await waitMessage(page, /^listening$/, 30_000);
    const chunks = await page.evaluate(async () => {
      const stream = window.__nearcast;
      if (!stream) throw new Error('the page plays no stream');
      const before = stream.player.stats().chunks;
      await new Promise((r) => setTimeout(r, 1000));
      return stream.player.stats().chunks - before;
    });
    expect(chunks, 'chunks played in a second after the restart').to.be.within(40, 60);

    // the network goes silent (the box stops answering for 5 s): the page notices and rejoins
    process.kill(box.proc.pid!, 'SIGSTOP');
    try {
      await waitMessage(page, /no audio from the box/, 10_000);
    } finally {
      await new Promise((r) => setTimeout(r, 2000));
      process.kill(box.proc.pid!, 'SIGCONT');
    }
    await waitMessage(page, /^listening$/, 30_000);
  });
});
