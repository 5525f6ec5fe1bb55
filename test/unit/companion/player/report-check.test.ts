import { expect } from 'chai';
import { ReportCheck } from '../../../../companion/player/report-check.ts';

const RATE = 48000;

/** readings every 10 ms for `seconds`: consumed frames at nominal rate plus `errorUs(t)` of report error */
function feed(check: ReportCheck, seconds: number, errorUs: (tS: number) => number, stepS = 0.01): void {
  for (let t = 0; t <= seconds + 1e-9; t += stepS) check.observe(5e9 + t * 1e6, 1000 + RATE * t + (errorUs(t) * RATE) / 1e6);
}

describe('ReportCheck', () => {
  it('is pending until readings span 1.3 s', () => {
    const c = new ReportCheck(RATE);
    feed(c, 1.2, () => 0);
    expect(c.verdict).to.equal('pending');
    expect(c.ppm).to.be.NaN;
    c.observe(5e9 + 1.31e6, 1000 + RATE * 1.31);
    expect(c.verdict).to.equal('play');
  });

  it('passes a device a crystal away from nominal (+80 ppm, ±10 µs scatter) and says its rate', () => {
    const c = new ReportCheck(RATE);
    feed(c, 1.3, (t) => 80 * t + Math.sin(t * 143) * 10);
    expect(c.verdict).to.equal('play');
    expect(c.ppm).to.be.closeTo(80, 30);
  });

  it("fails a report that runs 1500 ppm off after its first 0.3 s (libpulse's interpolation after a late first update)", () => {
    const c = new ReportCheck(RATE);
    feed(c, 1.3, (t) => Math.max(0, t - 0.3) * -1500);
    expect(c.verdict).to.equal('restart');
    expect(c.ppm).to.be.closeTo(-1500, 50);
  });

  it('does not judge the first 0.3 s: a report that jumps there and then runs true passes', () => {
    const c = new ReportCheck(RATE);
    feed(c, 1.3, (t) => (t < 0.25 ? 20_000 * (0.25 - t) : 0));
    expect(c.verdict).to.equal('play');
    expect(Math.abs(c.ppm)).to.be.below(20);
  });

  it('plays on when too few readings fall in the judged span to say anything', () => {
    const c = new ReportCheck(RATE);
    feed(c, 1.4, (t) => t * 3000, 0.2);
    expect(c.verdict).to.equal('play');
    expect(c.ppm).to.be.NaN;
  });

  it('ignores readings that are not numbers; rejects a bad rate or span', () => {
    const c = new ReportCheck(RATE);
    c.observe(Number.NaN, 5);
    c.observe(5e9, Number.POSITIVE_INFINITY);
    feed(c, 1.3, () => 0);
    expect(c.verdict).to.equal('play');
    expect(() => new ReportCheck(0)).to.throw(/rate must be positive/);
    expect(() => new ReportCheck(RATE, { fromS: 1, toS: 0.5 })).to.throw(/fromS < toS/);
  });
});
