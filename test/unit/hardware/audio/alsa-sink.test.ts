// These tests drive the REAL libasound through koffi, with no sound card needed.
//
// The asoundrc trick: libasound reads its top-level configuration from the file named
// by the ALSA_CONFIG_PATH environment variable instead of /usr/share/alsa/alsa.conf.
// test/helpers/alsa-file-pcm.ts writes such a file that first includes the system
// alsa.conf (`</usr/share/alsa/alsa.conf>`, keeping "null", "default", ...) and then
// defines one `file` PCM per name, whose slave is the `null` plugin: everything played
// lands byte for byte in a raw file. ALSA reads the configuration at snd_pcm_open and
// re-reads it when the path or the files change, so setting the variable before the
// sink opens is enough. It must be set on the main thread's process.env: that is the
// real C environment libasound's getenv() sees (a worker's process.env is a JS copy).
// Child processes get it through `env` from makeFilePcmConfig().

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlsaSink } from '../../../../hardware/audio/alsa-sink.ts';
import type { PcmFormat } from '../../../../firmware/wire/format.ts';
import { makeFilePcmConfig, type FilePcmConfig } from '../../../helpers/alsa-file-pcm.ts';
import { rejection } from '../../../helpers/rejection.ts';

const FORMAT: PcmFormat = { sampleRate: 48000, channels: 2, bitsPerSample: 16 };
const CHUNK = 960; // 20 ms

/** One second of a pattern no two frames share, so a lost or repeated chunk shows. */
function pattern(frames: number): Int16Array {
  const a = new Int16Array(frames * FORMAT.channels);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 2654435761) >>> 16) - 32768;
  return a;
}

/** writes `pcm` in CHUNK-frame writes, the first `firstFrames` in one (a player primes its device so) */
async function playAll(sink: AlsaSink, pcm: Int16Array, firstFrames = CHUNK): Promise<number[]> {
  const delays: number[] = [];
  for (let at = 0; at < pcm.length; ) {
    const n = (at === 0 ? firstFrames : CHUNK) * FORMAT.channels;
    delays.push((await sink.write(pcm.subarray(at, at + n))).delayFrames);
    at += n;
  }
  return delays;
}

describe('AlsaSink (real libasound, file PCM)', function () {
  this.timeout(20_000);
  let dir: string;
  let cfg: FilePcmConfig<'nc_file' | 'nc_other'>;
  let savedConfigPath: string | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nearcast-alsa-'));
    cfg = makeFilePcmConfig(dir, ['nc_file', 'nc_other']);
    savedConfigPath = process.env.ALSA_CONFIG_PATH;
    process.env.ALSA_CONFIG_PATH = cfg.configPath;
  });

  after(() => {
    if (savedConfigPath === undefined) delete process.env.ALSA_CONFIG_PATH;
    else process.env.ALSA_CONFIG_PATH = savedConfigPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes exactly the samples it was given into the file PCM', async () => {
    const sink = new AlsaSink('nc_file', FORMAT);
    await sink.open();
    const pcm = pattern(48_000);
    await playAll(sink, pcm);
    await sink.close();
    const out = readFileSync(cfg.outputs.nc_file);
    expect(out.length).to.equal(pcm.byteLength);
    expect(Buffer.compare(out, Buffer.from(pcm.buffer))).to.equal(0);
  });

  it('paces an unclocked plugin in real time and reports meaningful delays', async () => {
    // a 200 ms virtual buffer: a busy test machine can stall the writer for tens of ms
    const sink = new AlsaSink('nc_other', FORMAT, { latencyMs: 200 });
    await sink.open();
    expect(sink.clocked, 'a file PCM has no clock of its own').to.equal(false);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const t0 = performance.now();
    // primed with half the 200 ms buffer (a player keeps it full): a stalled second write must not run the virtual device dry
    const delays = await playAll(sink, pattern(48_000), 4800);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(ticker);
    const status = await sink.status();
    await sink.close();
    const what = `1 s written in ${seconds.toFixed(3)} s, ${ticks} timer ticks, delays (frames) ${delays.join(' ')}, final ${JSON.stringify(status)}`;
    expect(seconds, what).to.be.within(0.6, 1.5);
    expect(ticks, `the main thread kept running timers while audio was written; ${what}`).to.be.above(20);
    // once the virtual buffer is full, the delay sits near the 200 ms (9600 frames) buffer
    expect(Math.max(...delays), what).to.be.within(8_000, 9_700);
    expect(delays.at(-1), what).to.be.above(4_000);
    expect(status.delayFrames, what).to.be.below(9_700);
    expect(status.underruns, what).to.equal(0);
  });

  it('rejects opening a PCM that does not exist, naming it and saying why', async () => {
    const sink = new AlsaSink('nc_no_such_pcm', FORMAT);
    const err = await rejection(sink.open());
    expect(err.message).to.include("'nc_no_such_pcm'");
    expect(err.message).to.match(/snd_pcm_open failed: No such file or directory/);
    await sink.close();
  });

  it('refuses partial frames and writes after close', async () => {
    const sink = new AlsaSink('nc_file', FORMAT);
    await sink.open();
    expect((await rejection(sink.write(new Int16Array(3)))).message).to.match(/whole number of 2-channel frames/);
    await sink.close();
    expect((await rejection(sink.write(new Int16Array(2)))).message).to.match(/not open/);
  });
});
