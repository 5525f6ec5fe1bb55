import { expect } from 'chai';
import { SettleWindow, SoftCorrection, spansOf, spliceSpans } from '../../../../companion/player/soft-correction.ts';

const RATE = 48000;
const BLOCK = 480; // 10 ms

function corrector(o: Partial<ConstructorParameters<typeof SoftCorrection>[0]> = {}): SoftCorrection {
  return new SoftCorrection({ rate: RATE, deadbandUs: 40, hardUs: 30_000, settleSpacing: 200, softSpacing: 1000, averageOver: 32, correctionTauS: 1.5, ...o });
}

/** mono frames 0, 1, 2, … */
function ramp(n: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => i);
}

describe('SoftCorrection', () => {
  it('drops frames spread through the block: n + k read, every k-th gap skips one', () => {
    const spans = spansOf(2, 12);
    const out = spliceSpans(ramp(14), spans, 12, Int16Array.of(-1));
    expect(Array.from(out), JSON.stringify(spans)).to.deep.equal([0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13]);
  });

  it('repeats frames spread through the block: n − k read, every k-th gap plays one again', () => {
    const out = spliceSpans(ramp(10), spansOf(-2, 12), 12, Int16Array.of(-1));
    expect(Array.from(out)).to.deep.equal([0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9]);
  });

  it('works a steady 2 ms late error off at no more than 0.1 % once settled, and at 0.5 % while settling', () => {
    for (const [settling, cap] of [
      [false, 1000],
      [true, 200],
    ] as const) {
      const c = corrector();
      let dropped = 0;
      let errorUs = 2000;
      let blocks = 0;
      // bounded: 20 s of 10 ms blocks
      for (; blocks < 2000 && errorUs > 100; blocks++) {
        const avg = c.measure(errorUs);
        const corr = c.next(avg, settling, BLOCK);
        expect(corr, `block ${blocks}, error ${errorUs} µs`).to.be.within(0, Math.max(1, Math.floor(BLOCK / cap)));
        c.applied(corr);
        dropped += corr;
        errorUs -= (corr * 1e6) / RATE;
      }
      const what = `settling ${settling}: ${dropped} frames dropped over ${blocks} blocks, error left ${errorUs.toFixed(0)} µs`;
      expect(errorUs, what).to.be.at.most(100);
      expect(dropped / (blocks * BLOCK), what).to.be.at.most(1 / cap + 1 / (blocks * BLOCK));
    }
  });

  it('learns a steady drift: a device 200 ppm fast is followed at zero error, not at drift × tau', () => {
    const c = corrector();
    let errorUs = 0;
    const errors: number[] = [];
    for (let b = 0; b < 6000; b++) {
      errorUs -= (200e-6 * BLOCK * 1e6) / RATE; // the device runs ahead: the playout falls early
      const avg = c.measure(errorUs);
      const corr = c.next(avg, false, BLOCK);
      c.applied(corr);
      errorUs -= (corr * 1e6) / RATE;
      if (b >= 5000) errors.push(errorUs);
    }
    const mean = errors.reduce((a, x) => a + x, 0) / errors.length;
    // a proportional part alone would sit at drift × tau = 200 ppm × 1.5 s = −300 µs
    expect(Math.abs(mean), `mean error over the last 10 s: ${mean.toFixed(1)} µs`).to.be.below(60);
  });

  it('calls for a resync only after five measurements in a row beyond the hard threshold; a reset forgets them', () => {
    const c = corrector();
    for (let i = 0; i < 4; i++) c.measure(40_000);
    expect(c.hardPersists).to.equal(false);
    c.measure(40_000);
    expect(c.hardPersists).to.equal(true);
    c.reset();
    expect(c.hardPersists).to.equal(false);
    for (let i = 0; i < 4; i++) c.measure(40_000);
    c.measure(0);
    c.measure(40_000);
    expect(c.hardPersists, 'a measurement back inside restarts the count').to.equal(false);
  });
});

describe('SettleWindow', () => {
  const S = 3e6; // 3 s

  it('settles for 3 s after playout begins, not before it and not after, whatever the error', () => {
    const w = new SettleWindow(S);
    expect(w.settling(0, 5000), 'before playout began').to.equal(false);
    w.begin(10e6);
    expect(w.settling(10e6 + 2.9e6, 0)).to.equal(true);
    expect(w.settling(10e6 + 3.1e6, 5000), 'a start is no move: 3 s only').to.equal(false);
  });

  it('after a move: 3 s, then on while the error is beyond 1 ms (at most 15 s), and steady once it came within', () => {
    const w = new SettleWindow(S);
    w.begin(0);
    w.moved(10e6);
    expect(w.settling(12e6, 200), 'within 3 s of the move').to.equal(true);
    expect(w.settling(14e6, 4000), 'past 3 s, 4 ms left of the move').to.equal(true);
    expect(w.settling(16e6, -1500), 'past 3 s, 1.5 ms left (early)').to.equal(true);
    expect(w.settling(17e6, 900), 'within 1 ms: worked off').to.equal(false);
    expect(w.settling(18e6, 2000), 'noise after that is corrected at the steady rate').to.equal(false);
    w.moved(30e6);
    expect(w.settling(44e6, 5000), '14 s after a move, still 5 ms off').to.equal(true);
    expect(w.settling(45.1e6, 5000), 'past 15 s').to.equal(false);
  });

  it('a new start forgets a move still being worked off', () => {
    const w = new SettleWindow(S);
    w.moved(0);
    w.begin(1e6);
    expect(w.settling(5e6, 5000)).to.equal(false);
  });
});
