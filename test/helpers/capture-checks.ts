// Checks shared by the capture tests of each backend.

import { expect } from 'chai';
import type { CaptureSource } from '../../firmware/audio/sources/capture-source.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads `src` as the engine does (a chunk every 20 ms), stops its sound server once the device
 * is open, and checks that the loss is reported and that chunks (silence) keep coming.
 * Returns the errors reported.
 */
export async function expectServerLossReported(src: CaptureSource, stopServer: () => Promise<void>): Promise<string[]> {
  const errors: string[] = [];
  const ok: number[] = [];
  src.on('device-error', (e) => errors.push(e.message));
  src.on('device-ok', (e) => ok.push(e.rate));
  const chunks: Int16Array[] = [];
  const timer = setInterval(() => chunks.push(src.read(960)), 20);
  try {
    for (let i = 0; i < 50 && ok.length === 0; i++) await sleep(100);
    expect(ok, 'capture open').to.have.length(1);
    await stopServer();
    for (let i = 0; i < 50 && errors.length === 0; i++) await sleep(100);
    const n = chunks.length;
    await sleep(1000);
    expect(errors.length, 'reported').to.be.at.least(1);
    expect(chunks.length - n, 'chunks kept coming').to.be.within(40, 60);
    expect(src.deviceUp).to.equal(false);
  } finally {
    clearInterval(timer);
    src.close();
    await src.deviceClosed();
  }
  return errors;
}
