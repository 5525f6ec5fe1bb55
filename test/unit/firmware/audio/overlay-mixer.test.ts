import { expect } from 'chai';
import { dbToGain, OverlayMixer } from '../../../../firmware/audio/overlay-mixer.ts';
import type { PcmSource } from '../../../../firmware/audio/types.ts';
import { DEFAULT_FORMAT } from '../../../../firmware/wire/format.ts';

const FRAMES = 960; // one 20 ms chunk at 48 kHz

/** a source of `frames` frames of a constant value (0 frames ready while `holdFor` reads remain) */
function constant(value: number, frames: number, holdFor = 0): PcmSource & { closed: boolean } {
  let left = frames;
  let holds = holdFor;
  return {
    kind: 'file',
    description: `constant ${value}`,
    error: null,
    closed: false,
    get ended() {
      return left === 0;
    },
    read(n: number) {
      if (holds-- > 0) return new Int16Array(0);
      const k = Math.min(n, left);
      left -= k;
      return new Int16Array(k * 2).fill(value);
    },
    close() {
      this.closed = true;
    },
  };
}
const music = () => new Int16Array(FRAMES * 2).fill(10_000);
/** left-channel samples of chunk after chunk until `until` says stop (bounded) */
function run(mixer: OverlayMixer, chunks: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < chunks; i++) {
    const pcm = music();
    mixer.mix(pcm);
    for (let f = 0; f < FRAMES; f++) out.push(pcm[f * 2]!);
  }
  return out;
}

describe('OverlayMixer (announcements over ducked music)', () => {
  it('ducks the music over the ramp, plays the overlay at full scale over it, then brings the music back before saying done', () => {
    const mixer = new OverlayMixer(DEFAULT_FORMAT, 100); // 100 ms = 4,800 frames per full swing
    const done: Array<Error | undefined> = [];
    const voice = constant(1000, 4800); // 100 ms
    let started = 0;
    mixer.play({ sources: [voice], duckGain: 0.25, started: () => started++, done: (e) => done.push(e) });
    const out = run(mixer, 20); // 400 ms
    expect(started).to.equal(1);
    // a straight ramp down: 0.75 of the swing takes 75 ms
    expect(out[0]!, 'first frame barely ducked').to.be.within(9_990, 10_000);
    expect(out[1800]!, '37.5 ms in: half way').to.be.within(6_200, 6_300);
    const ducked = out.indexOf(2_500);
    expect(ducked, `ducked after ${ducked} frames`).to.be.within(3_590, 3_610);
    // the overlay starts with the chunk after the ramp ends and lies over the ducked music
    const voiced = out.findIndex((v, i) => i > ducked && v === 3_500);
    expect(voiced % FRAMES, 'the overlay starts on a chunk boundary').to.equal(0);
    expect(voiced, 'after the duck').to.be.greaterThan(ducked);
    expect(
      out.slice(voiced, voiced + 4800).every((v) => v === 3_500),
      'ducked music + voice for the whole voice',
    ).to.equal(true);
    // then back up to full scale; done only once it is there
    expect(out.at(-1)).to.equal(10_000);
    expect(done).to.deep.equal([undefined]);
    expect(voice.closed).to.equal(true);
    expect(mixer.busy).to.equal(false);
  });

  it('plays the sources of one overlay back to back, and queued overlays one after the other; a source that is late keeps the music ducked', () => {
    const mixer = new OverlayMixer(DEFAULT_FORMAT, 20);
    const order: string[] = [];
    mixer.play({ sources: [constant(100, 960), constant(200, 960, 3)], duckGain: 0, started: () => order.push('first'), done: () => order.push('first done') });
    mixer.play({ sources: [constant(300, 960)], duckGain: 0, started: () => order.push('second'), done: () => order.push('second done') });
    expect(mixer.waiting).to.equal(2);
    const out = run(mixer, 20);
    const levels = [...new Set(out)];
    expect(levels, JSON.stringify(levels.slice(0, 12))).to.include.members([100, 0, 200, 300, 10_000]);
    expect(out.indexOf(200), 'the late source waited, silent, under ducked music').to.be.greaterThan(out.lastIndexOf(100) + 3 * 960 - 1);
    expect(order).to.deep.equal(['first', 'first done', 'second', 'second done']);
  });

  it('sums with saturation, reports a failed source, and clear() cuts everything', () => {
    const mixer = new OverlayMixer(DEFAULT_FORMAT, 20);
    const errors: Array<Error | undefined> = [];
    mixer.play({ sources: [constant(30_000, 960)], duckGain: 1, done: (e) => errors.push(e) });
    const out = run(mixer, 3);
    expect(Math.max(...out), 'clipped, not wrapped').to.equal(32_767);
    const broken: PcmSource = { kind: 'file', description: 'broken', ended: false, error: new Error('ffmpeg: no such file'), read: () => new Int16Array(0), close() {} };
    mixer.play({ sources: [broken], duckGain: 0.5, done: (e) => errors.push(e) });
    run(mixer, 5);
    expect(errors.map((e) => e?.message)).to.deep.equal([undefined, 'ffmpeg: no such file']);
    const long = constant(1, 48_000);
    mixer.play({ sources: [long], duckGain: 0.5, done: (e) => errors.push(e) });
    run(mixer, 2);
    mixer.clear();
    expect(long.closed).to.equal(true);
    expect(errors.at(-1)?.message).to.equal('stopped');
    expect(
      run(mixer, 1).every((v) => v === 10_000),
      'full scale again at once',
    ).to.equal(true);
  });

  it('dB to gain', () => {
    expect(dbToGain(0)).to.equal(1);
    expect(dbToGain(12)).to.be.closeTo(0.2512, 0.0001);
    expect(dbToGain(-6)).to.be.closeTo(0.5012, 0.0001);
    expect(() => new OverlayMixer(DEFAULT_FORMAT, 0)).to.throw(/ramp/);
  });
});
