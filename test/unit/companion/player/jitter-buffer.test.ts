import { expect } from 'chai';
import { JitterBuffer } from '../../../../companion/player/jitter-buffer.ts';

const FORMAT = { sampleRate: 48000, channels: 1, bitsPerSample: 16 as const };
const BLOCK = 960; // 20 ms
const T0 = 1_000_000;

/** Block b holds frames b*960.. with value (frame index % 30000) + 1, due at T0 + b*20 ms. */
function block(b: number, playAt = T0 + b * 20_000) {
  const pcm = new Int16Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) pcm[i] = ((b * BLOCK + i) % 30000) + 1;
  return { playAt, pcm, seq: b };
}

describe('JitterBuffer', () => {
  it('reads blocks in time order even when they arrive out of order', () => {
    const jb = new JitterBuffer(FORMAT);
    for (const b of [0, 2, 1, 3]) expect(jb.push(block(b))).to.equal('added');
    const { pcm, missingFrames } = jb.take(T0, 4 * BLOCK);
    expect(missingFrames).to.equal(0);
    for (let i = 0; i < pcm.length; i++) expect(pcm[i]).to.equal((i % 30000) + 1);
  });

  it('ignores a duplicate block', () => {
    const jb = new JitterBuffer(FORMAT);
    jb.push(block(0));
    jb.push(block(1));
    expect(jb.push(block(1))).to.equal('duplicate');
    expect(jb.bufferedFrames()).to.equal(2 * BLOCK);
  });

  it('drops a block whose time is already behind the read position, keeps a partly late one', () => {
    const jb = new JitterBuffer(FORMAT);
    jb.push(block(0));
    jb.take(T0, BLOCK + 100); // read into where block 1 belongs
    expect(jb.push(block(1))).to.equal('added'); // its last 860 frames are still ahead
    expect(jb.readNext(10).pcm[0]).to.equal(BLOCK + 100 + 1);
    jb.skip(3 * BLOCK);
    expect(jb.push(block(2))).to.equal('late');
  });

  it('zero-fills and counts the frames no block covers', () => {
    const jb = new JitterBuffer(FORMAT);
    jb.push(block(0));
    jb.push(block(2));
    const { pcm, missingFrames } = jb.take(T0 + 10_000, 2 * BLOCK);
    expect(missingFrames).to.equal(BLOCK);
    expect(pcm[0]).to.equal(481);
    expect(pcm[480 + 10]).to.equal(0);
    expect(pcm[480 + BLOCK]).to.equal(2 * BLOCK + 1);
  });

  it('treats a block within ±1 frame of the continuation as contiguous (no dropped or repeated sample)', () => {
    const jb = new JitterBuffer(FORMAT);
    jb.push(block(0));
    jb.push(block(1, T0 + 20_000 + 15)); // 0.72 frame late
    jb.push(block(2, T0 + 40_000 - 5)); // 0.96 frame early relative to block 1
    const { pcm, missingFrames } = jb.take(T0, 3 * BLOCK);
    expect(missingFrames).to.equal(0);
    for (let i = 0; i < pcm.length; i++) expect(pcm[i]).to.equal(i + 1);
  });

  it('continues consecutive takes exactly where the last ended, without rounding drift', () => {
    // 44.1 kHz: one frame is 22.675… µs, so µs-rounded times would drift
    const f = { sampleRate: 44100, channels: 1, bitsPerSample: 16 as const };
    const jb = new JitterBuffer(f, { maxBufferMs: 100_000 });
    const n = 882; // 20 ms
    for (let b = 0; b < 500; b++) {
      const pcm = new Int16Array(n).map((_, i) => ((b * n + i) % 30000) + 1);
      jb.push({ playAt: Math.round(T0 + (b * n * 1e6) / 44100), pcm, seq: b });
    }
    let t = T0;
    let expected = 1;
    let wrong = 0;
    let missing = 0;
    for (let k = 0; k < 1000; k++) {
      const r = jb.take(t, 441);
      missing += r.missingFrames;
      for (const v of r.pcm) {
        if (v !== expected) wrong++;
        expected = (expected % 30000) + 1;
      }
      t += (441 * 1e6) / 44100;
    }
    expect(missing).to.equal(0);
    expect(wrong).to.equal(0);
  });

  it('maps time to stream index from the blocks’ own playAt, so clock drift stays visible', () => {
    const jb = new JitterBuffer(FORMAT);
    // chunks 100 ppm longer than nominal on the local clock
    for (let b = 0; b < 50; b++) jb.push(block(b, T0 + b * 20_002));
    expect(jb.timeOfIndex(49 * BLOCK)).to.be.closeTo(T0 + 49 * 20_002, 0.001);
    jb.seek(T0 + 49 * 20_002);
    expect(jb.cursorIndex).to.equal(49 * BLOCK);
  });

  it('is bounded: the oldest blocks go beyond maxBufferMs', () => {
    const jb = new JitterBuffer(FORMAT, { maxBufferMs: 100 });
    for (let b = 0; b < 10; b++) jb.push(block(b));
    expect(jb.bufferedFrames()).to.be.at.most(4800);
    expect(jb.dropped.overflow).to.equal(5);
    expect(jb.firstPlayAt()).to.equal(T0 + 5 * 20_000);
  });

  it('keeps the timeline through an underrun: data that returns plays at its own time', () => {
    const jb = new JitterBuffer(FORMAT);
    jb.push(block(0));
    jb.take(T0, BLOCK);
    const gap = jb.take(T0 + 20_000, 2 * BLOCK); // blocks 1 and 2 never came
    expect(gap.missingFrames).to.equal(2 * BLOCK);
    expect(jb.cursorTimeUs).to.equal(T0 + 60_000);
    jb.push(block(3));
    expect(jb.take(T0 + 60_000, 10).pcm[0]).to.equal(3 * BLOCK + 1);
  });

  it('rejects a block that is not whole frames, and clear() forgets the timeline', () => {
    const jb = new JitterBuffer({ sampleRate: 48000, channels: 2, bitsPerSample: 16 });
    expect(jb.push({ playAt: T0, pcm: new Int16Array(3), seq: 0 })).to.equal('invalid');
    expect(jb.push({ playAt: NaN, pcm: new Int16Array(4), seq: 0 })).to.equal('invalid');
    jb.push({ playAt: T0, pcm: new Int16Array(4), seq: 0 });
    jb.clear();
    expect(jb.empty).to.equal(true);
    expect(jb.firstPlayAt()).to.equal(null);
    expect(() => jb.readNext(-1)).to.throw(/cannot read -1 frames/);
  });
});
