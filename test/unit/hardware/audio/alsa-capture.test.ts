// AlsaCapture on the REAL libasound through koffi: a `file` PCM whose `infile` is the
// "line-in" (test/helpers/alsa-file-pcm.ts; ALSA_CONFIG_PATH is set on the main thread,
// as alsa-sink.test.ts explains).

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlsaCapture } from '../../../../hardware/audio/alsa-capture.ts';
import { makeFilePcmConfig } from '../../../helpers/alsa-file-pcm.ts';

/** frame k holds k (mod 32768) on both channels: where a read's frames came from shows in them */
function ramp(frames: number): Int16Array {
  const a = new Int16Array(frames * 2);
  for (let k = 0; k < frames; k++) a[2 * k] = a[2 * k + 1] = k % 32768;
  return a;
}

/** the first frame of `got` that is not frame `from + k` of the ramp, or -1 */
function firstWrong(got: Int16Array, from: number): number {
  for (let k = 0; k < got.length / 2; k++) if (got[2 * k] !== (from + k) % 32768 || got[2 * k + 1] !== (from + k) % 32768) return k;
  return -1;
}

describe('AlsaCapture (real libasound, file PCM with an infile)', function () {
  this.timeout(20_000);
  let dir: string;
  let savedConfigPath: string | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nearcast-alsa-capture-'));
    writeFileSync(join(dir, 'line-in.raw'), ramp(48000 * 4));
    savedConfigPath = process.env.ALSA_CONFIG_PATH;
    process.env.ALSA_CONFIG_PATH = makeFilePcmConfig(dir, [], { nc_line_in: join(dir, 'line-in.raw') }).configPath;
  });
  after(() => {
    if (savedConfigPath === undefined) delete process.env.ALSA_CONFIG_PATH;
    else process.env.ALSA_CONFIG_PATH = savedConfigPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a read of more frames than the PCM buffer (a paced capture catching up after a stall) gets the infile in order', async () => {
    // the plugin reads its infile only for reads within its buffer: one larger read came back as silence, and the
    // input fell behind by it (a box held up for 150 ms shifted a live input by 140 ms)
    const dev = new AlsaCapture('nc_line_in', { latencyMs: 40 });
    try {
      const info = await dev.open();
      expect(info.clocked, 'a file PCM keeps no time').to.equal(false);
      const first = await dev.read(960);
      const big = await dev.read(16 * 960); // 320 ms: well beyond a 40 ms buffer
      const next = await dev.read(960);
      const where = `first read wrong at frame ${firstWrong(first, 0)}, the large read (${big.length / 2} frames) at ${firstWrong(big, 960)}, the one after at ${firstWrong(next, 960 + 16 * 960)}`;
      expect(big.length / 2, where).to.equal(16 * 960);
      expect([firstWrong(first, 0), firstWrong(big, 960), firstWrong(next, 17 * 960)], where).to.deep.equal([-1, -1, -1]);
    } finally {
      await dev.close();
    }
  });

  it('a catch-up read through a tiny buffer (many reads of one buffer each) is not taken for a failing device', async () => {
    // each snd_pcm_readi asks at most one buffer: 320 ms through a 2 ms buffer takes about 160 of them
    const dev = new AlsaCapture('nc_line_in', { latencyMs: 2 });
    try {
      const info = await dev.open();
      const big = await dev.read(16 * 960);
      const where = `buffer ${JSON.stringify(info)}; ${big.length / 2} frames, first wrong at ${firstWrong(big, 0)}`;
      expect(big.length / 2, where).to.equal(16 * 960);
      expect(firstWrong(big, 0), where).to.equal(-1);
    } finally {
      await dev.close();
    }
  });
});
