import { expect } from 'chai';
import { ReadEnvelope, type CapturePoint } from '../../../../../firmware/audio/sources/read-envelope.ts';

describe('ReadEnvelope (the capture clock points of a sound server)', () => {
  it('gives the first reading at once, then one point per block: the read furthest ahead of the nominal rate', () => {
    const env = new ReadEnvelope({ rate: 48000, blockUs: 100_000 });
    const points: CapturePoint[] = [];
    const add = (ms: number, read: number, delay: number) => {
      const p = env.add(ms * 1000, read, delay);
      if (p) points.push(p);
    };
    add(0, 960, 0);
    // 20 ms periods; the read at 45 ms returned 5 ms late, the one at 61 ms 1 ms late
    add(20, 1920, 0);
    add(45, 2880, 240);
    add(61, 3840, 48);
    add(80, 4800, 0);
    expect(points, 'no point inside a block').to.have.length(1);
    add(100, 5760, 0); // the block is over
    expect(points).to.have.length(2);
    // furthest ahead: 1920 − 960 (20 ms) = 960, 4800 − 3840 = 960, 5760 − 4800 = 960 … the first of those wins
    expect(points[1]!.atUs).to.equal(20_000);
    expect(points[1]!.read).to.equal(1920);
  });

  it("places the points by the median of the recent reports at those reads, so one block's report moves nothing", () => {
    const env = new ReadEnvelope({ rate: 48000, blockUs: 100_000, medianOf: 5 });
    const delays: number[] = [];
    for (let k = 0; k <= 12; k++) {
      const report = k === 6 ? 480 : 100; // one block's report 8 ms off
      const p = env.add(k * 100_000, k * 4800, report);
      if (p) delays.push(p.delayFrames);
    }
    expect(
      delays.every((d) => d === 100),
      JSON.stringify(delays),
    ).to.equal(true);
  });

  it('a read that finds a backlog (a stream starting, a stalled reader) is passed on with its own report, outside the median', () => {
    const env = new ReadEnvelope({ rate: 48000, blockUs: 100_000, medianOf: 5 });
    // PulseAudio hands over ~150 ms at a record stream's start: reads return at once while it drains
    const backlog = [0, 5, 10].map((ms, k) => env.add(ms * 1000, 960 * (k + 1), 48 * (150 - 15 * k)));
    expect(backlog.map((p) => p?.delayFrames)).to.deep.equal([7200, 6480, 5760]);
    const first = env.add(200_000, 9600, 480); // drained: 10 ms held
    expect(first).to.deep.equal({ atUs: 200_000, read: 9600, delayFrames: 480 });
    const later: Array<number | undefined> = [];
    for (let k = 1; k <= 12; k++) later.push(env.add(200_000 + k * 20_000, 9600 + k * 960, k === 8 ? 4800 : 480)?.delayFrames);
    // the backlog's reports never entered the median; the stalled read at k = 8 is passed on as it is
    expect(later.filter((d) => d !== undefined)).to.deep.equal([480, 4800, 480]);
  });

  it('ignores readings it cannot use and refuses bad options', () => {
    const env = new ReadEnvelope({ rate: 48000 });
    expect(env.add(Number.NaN, 960, 0)).to.equal(null);
    expect(env.add(1000, Number.POSITIVE_INFINITY, 0)).to.equal(null);
    const p = env.add(1000, 960, Number.NaN); // a device that cannot tell its delay: none
    expect(p).to.deep.equal({ atUs: 1000, read: 960, delayFrames: 0 });
    expect(() => new ReadEnvelope({ rate: 0 })).to.throw(/rate must be positive/);
    expect(() => new ReadEnvelope({ rate: 48000, blockUs: -1 })).to.throw(/blockUs must be positive/);
  });

  it('after a restart (frames lost) the next reading is a point at once', () => {
    const env = new ReadEnvelope({ rate: 48000, blockUs: 500_000 });
    expect(env.add(0, 960, 0)).to.not.equal(null);
    expect(env.add(20_000, 1920, 0)).to.equal(null);
    env.restart();
    expect(env.add(40_000, 9600, 0)).to.deep.include({ atUs: 40_000, read: 9600 });
  });
});
