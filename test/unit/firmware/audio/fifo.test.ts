import { expect } from 'chai';
import { FifoCursor, FifoRing, type Chunk } from '../../../../firmware/audio/fifo.ts';

const chunk = (seq: number, extra: Partial<Chunk> = {}): Chunk => ({
  seq,
  playAt: 1_000_000 + seq * 20_000,
  pcm: new Int16Array(0),
  payloads: new Map(),
  ...extra,
});

function filled(capacity: number, n: number, from = 0): FifoRing {
  const r = new FifoRing(capacity);
  for (let s = from; s < from + n; s++) r.push(chunk(s));
  return r;
}

describe('FifoRing', () => {
  it('holds at most its capacity, evicting the oldest chunk', () => {
    const r = filled(4, 6);
    expect(r.size).to.equal(4);
    expect([r.oldestSeq, r.newestSeq]).to.deep.equal([2, 5]);
    expect(r.get(1)).to.equal(undefined);
    expect(r.get(2)!.seq).to.equal(2);
    expect(r.get(5)!.seq).to.equal(5);
    expect(r.get(6)).to.equal(undefined);
  });

  it('requires consecutive seqs', () => {
    const r = filled(4, 2);
    expect(() => r.push(chunk(1))).to.throw(/seq 1 out of order: expected 2/);
    expect(() => r.push(chunk(5))).to.throw(/expected 2/);
  });

  it('finds the first chunk still to be played for a fast join', () => {
    const r = filled(250, 300); // seqs 50..299
    expect(r.firstPlayingAfter(1_000_000 + 100 * 20_000)).to.equal(100);
    expect(r.firstPlayingAfter(1_000_000 + 100 * 20_000 + 1)).to.equal(101);
    expect(r.firstPlayingAfter(0)).to.equal(50);
    expect(r.firstPlayingAfter(1e12)).to.equal(undefined);
    expect(new FifoRing(3).firstPlayingAfter(0)).to.equal(undefined);
  });

  it('after clear() is empty and continues with a later seq', () => {
    const r = filled(4, 3);
    r.clear();
    expect(r.size).to.equal(0);
    expect(() => r.push(chunk(1))).to.throw(/expected >= 3/);
    r.push(chunk(10));
    expect([r.oldestSeq, r.newestSeq]).to.deep.equal([10, 10]);
  });
});

describe('FifoCursor', () => {
  it('reads every chunk in order, then waits for more', () => {
    const r = filled(10, 3);
    const c = new FifoCursor(r, { startSeq: 0 });
    expect([c.next()!.chunk.seq, c.next()!.chunk.seq, c.next()!.chunk.seq]).to.deep.equal([0, 1, 2]);
    expect(c.next()).to.equal(undefined);
    r.push(chunk(3));
    expect(c.next()).to.deep.equal({ chunk: r.get(3), gap: false });
  });

  it('starts at the next chunk pushed by default', () => {
    const r = filled(10, 3);
    const c = new FifoCursor(r);
    expect(c.next()).to.equal(undefined);
    r.push(chunk(3));
    expect(c.next()!.chunk.seq).to.equal(3);
  });

  it('a listener that stalls is moved to the live edge with a gap, without holding others back', () => {
    const r = new FifoRing(10);
    const slow = new FifoCursor(r, { startSeq: 0 });
    const fast = new FifoCursor(r, { startSeq: 0 });
    for (let s = 0; s < 30; s++) {
      r.push(chunk(s));
      expect(fast.next()!.chunk.seq).to.equal(s);
    }
    expect(r.size).to.equal(10); // the stalled cursor did not make the ring grow
    const first = slow.next()!;
    expect(first.gap).to.equal(true);
    expect(first.chunk.seq).to.equal(24); // newest (29) minus the default lead of 5
    expect(slow.gaps).to.equal(1);
    expect(slow.next()!.gap).to.equal(false);
  });

  it('with a clock, the live edge is the first chunk playing at least marginUs from now', () => {
    const r = filled(10, 30); // seqs 20..29, playAt 1.4 s .. 1.58 s
    const c = new FifoCursor(r, { startSeq: 0, clock: () => 1_400_000, marginUs: 100_000 });
    const read = c.next()!;
    expect(read.gap).to.equal(true);
    expect(read.chunk.seq).to.equal(25); // playAt 1.5 s
  });

  it('passes on a gap the producer marked on a chunk', () => {
    const r = new FifoRing(10);
    r.push(chunk(0, { gap: true }));
    expect(new FifoCursor(r, { startSeq: 0 }).next()!.gap).to.equal(true);
  });

  it('reports how far behind it is', () => {
    const r = filled(10, 8);
    const c = new FifoCursor(r, { startSeq: 5 });
    expect(c.lag).to.equal(3);
  });
});
