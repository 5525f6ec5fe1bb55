import { expect } from 'chai';
import sinon from 'sinon';
import { VirtualDac } from '../../../../hardware/audio/virtual-dac.ts';
import type { SinkClock } from '../../../../hardware/audio/paced-clock.ts';
import type { PcmFormat } from '../../../../firmware/wire/format.ts';
import { rejection } from '../../../helpers/rejection.ts';

const FORMAT: PcmFormat = { sampleRate: 48000, channels: 2, bitsPerSample: 16 };
const CHUNK = 960; // 20 ms

function chunk(frames: number, value = 0): Int16Array {
  return new Int16Array(frames * FORMAT.channels).fill(value);
}

describe('VirtualDac', () => {
  let timers: sinon.SinonFakeTimers;
  let clock: SinkClock;

  beforeEach(() => {
    timers = sinon.useFakeTimers({ now: 1_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    clock = { nowUs: () => Date.now() * 1000, sleepUs: (us) => new Promise((r) => setTimeout(r, Math.ceil(us / 1000))) };
  });
  afterEach(() => timers.restore());

  async function openDac(opts: { ppm?: number; bufferMs?: number; keepSamples?: boolean } = {}): Promise<VirtualDac> {
    const dac = new VirtualDac(FORMAT, { clock, ...opts });
    await dac.open();
    return dac;
  }

  it('reports the queued frames as its delay, like snd_pcm_delay', async () => {
    const dac = await openDac();
    const s = await dac.write(chunk(CHUNK));
    expect(s).to.deep.equal({ delayFrames: CHUNK, atUs: 1_000_000, underruns: 0 });
    await timers.tickAsync(10);
    expect((await dac.status()).delayFrames).to.equal(CHUNK / 2);
    expect(dac.clocked).to.equal(true);
  });

  it('makes a writer wait while its buffer is full, so writing paces itself in real time', async () => {
    const dac = await openDac({ bufferMs: 100 });
    const t0 = Date.now();
    let lastDelay = 0;
    const writes = (async () => {
      for (let i = 0; i < 50; i++) lastDelay = (await dac.write(chunk(CHUNK))).delayFrames; // 1 s of audio
      return Date.now();
    })();
    await timers.tickAsync(2_000);
    const tEnd = await writes;
    // the last ~100 ms still sit in the buffer when the last write returns
    expect(tEnd - t0).to.be.within(880, 920);
    expect(lastDelay).to.be.within(4_700, 4_800);
    expect((await dac.status()).underruns, 'the player fell behind after we stopped writing').to.equal(1);
  });

  it('records when each frame leaves it, at its own drifted clock rate', async () => {
    const dac = await openDac({ ppm: 100, bufferMs: 2_000 });
    await dac.write(chunk(48_000));
    const start = dac.frameOutTimeUs(0);
    expect(start).to.equal(1_000_000);
    // a +100 ppm crystal plays 48000 frames in 1 s / 1.0001
    expect(dac.frameOutTimeUs(47_999) - start).to.be.closeTo(((47_999 / 48_000) * 1e6) / 1.0001, 0.01);
    expect(dac.actualRate).to.be.closeTo(48_004.8, 1e-9);
  });

  it('plays silence on underrun, counts it, and shifts later frames by the gap', async () => {
    const dac = await openDac();
    await dac.write(chunk(CHUNK)); // plays 0..20 ms
    await timers.tickAsync(50); // starved from 20 ms to 50 ms
    const s = await dac.write(chunk(CHUNK));
    expect(s.underruns).to.equal(1);
    expect(s.delayFrames).to.equal(CHUNK);
    expect(dac.frameOutTimeUs(CHUNK) - dac.frameOutTimeUs(0)).to.equal(50_000);
  });

  it('keeps the written samples in order when asked to', async () => {
    const dac = await openDac({ keepSamples: true });
    await dac.write(chunk(4, 1));
    await dac.write(chunk(2, -7));
    expect(Array.from(dac.samples())).to.deep.equal([1, 1, 1, 1, 1, 1, 1, 1, -7, -7, -7, -7]);
    expect(dac.framesWritten).to.equal(6);
  });

  it('rejects partial frames, writes before open and after close', async () => {
    const fresh = new VirtualDac(FORMAT, { clock });
    expect((await rejection(fresh.write(chunk(1)))).message).to.match(/not open/);
    const dac = await openDac();
    expect((await rejection(dac.write(new Int16Array(3)))).message).to.match(/whole number of 2-channel frames/);
    await dac.write(chunk(10));
    await dac.close();
    expect((await rejection(dac.write(chunk(1)))).message).to.match(/not open/);
    expect(dac.frameOutTimeUs(9), 'the record survives close').to.be.a('number');
  });

  it('refuses nonsense options', () => {
    expect(() => new VirtualDac(FORMAT, { ppm: Number.NaN })).to.throw(/ppm/);
    expect(() => new VirtualDac(FORMAT, { bufferMs: 0 })).to.throw(/bufferMs/);
  });
});
