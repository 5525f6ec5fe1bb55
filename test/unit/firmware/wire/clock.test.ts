import { expect } from 'chai';
import { ClockSync } from '../../../../firmware/wire/clock.ts';

/** Simulates exchanges against a server clock offset by `offset` µs and drifting by `ppm`. */
function exchange(sync: ClockSync, t: number, offset: number, ppm: number, up: number, down: number) {
  const server = (c: number) => c + offset + (c * ppm) / 1e6;
  const t1 = t;
  const t2 = server(t1 + up);
  const t3 = t2 + 50;
  const t4 = t1 + up + 50 + down;
  sync.add({ t1, t2, t3, t4 });
}

describe('ClockSync', () => {
  it('finds a fixed offset exactly with symmetric delays', () => {
    const s = new ClockSync();
    for (let i = 0; i < 10; i++) exchange(s, 1e6 + i * 1e5, 12_345, 0, 300, 300);
    expect(s.synced).to.equal(true);
    expect(s.offsetAt(2e6)).to.be.closeTo(12_345, 0.001);
    expect(s.toClient(s.toServer(5e6))).to.be.closeTo(5e6, 0.001);
  });

  it('one reply in twenty delayed by 50 ms moves the estimate by less than 0.05 ms', () => {
    const s = new ClockSync();
    let worst = 0;
    for (let i = 0; i < 200; i++) {
      const jitter = ((i * 37) % 11) * 20; // 0..200 µs of ordinary jitter
      const spike = i % 20 === 19 ? 50_000 : 0;
      exchange(s, 1e6 + i * 1e6, -7_000, 0, 200 + jitter, 200 + jitter + spike);
      if (i > 10) worst = Math.max(worst, Math.abs(s.offsetAt(1e6 + i * 1e6) + 7_000));
    }
    expect(worst).to.be.lessThan(50);
  });

  it('estimates drift in ppm and extrapolates the offset with it', () => {
    const s = new ClockSync();
    for (let i = 0; i < 240; i++) exchange(s, i * 500_000, 1000, 80, 250, 250);
    expect(s.drift).to.be.closeTo(80, 2);
    const future = 240 * 500_000 + 10e6;
    expect(s.offsetAt(future)).to.be.closeTo(1000 + (future * 80) / 1e6, 20);
  });

  it('ignores impossible timestamps', () => {
    const s = new ClockSync();
    expect(s.add({ t1: 10, t2: 5, t3: 4, t4: 20 })).to.equal(false);
    expect(s.add({ t1: 10, t2: NaN, t3: 4, t4: 20 })).to.equal(false);
    expect(s.exchanges).to.equal(0);
  });

  it('reset forgets the old box: unsynced until new exchanges, then their offset only', () => {
    const s = new ClockSync();
    for (let i = 0; i < 20; i++) exchange(s, 1e6 + i * 1e5, 12_345, 0, 300, 300);
    s.reset();
    expect(s.synced).to.equal(false);
    expect(s.exchanges).to.equal(0);
    for (let i = 0; i < 10; i++) exchange(s, 5e6 + i * 1e5, -900_000, 0, 300, 300); // the box rebooted: another clock
    expect(s.synced).to.equal(true);
    expect(s.offsetAt(6e6)).to.be.closeTo(-900_000, 0.001);
  });
});

describe('ClockSync under one-way jitter', () => {
  // A deterministic LCG, so the "random" jitter is the same on every run.
  function rng(seed: number): () => number {
    let x = seed >>> 0;
    return () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x / 2 ** 32;
    };
  }

  it('converges below 0.25 ms when each direction is delayed 0–20 ms on its own (no exchange fast both ways)', () => {
    const s = new ClockSync();
    const r = rng(7);
    for (let i = 0; i < 200; i++) exchange(s, 1e6 + i * 1e6, 42_000, 0, 100 + r() * 20_000, 100 + r() * 20_000);
    expect(Math.abs(s.offsetAt(201e6) - 42_000)).to.be.lessThan(250);
  });

  it('follows a drifting clock through jitter once the drift is known', () => {
    const s = new ClockSync();
    const r = rng(11);
    for (let i = 0; i < 240; i++) exchange(s, i * 1e6, 5_000, 40, 100 + r() * 5_000, 100 + r() * 5_000);
    expect(s.drift).to.be.closeTo(40, 3);
    const t = 240e6;
    expect(s.offsetAt(t)).to.be.closeTo(5_000 + (t * 40) / 1e6, 150);
  });

  it('the box speaker clock is exact and synced at once', () => {
    const s = ClockSync.local();
    expect(s.synced).to.equal(true);
    expect(s.toClient(123_456)).to.equal(123_456);
  });
});
