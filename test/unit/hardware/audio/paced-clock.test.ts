import { expect } from 'chai';
import sinon from 'sinon';
import { PacedClock, waitForRoom, type SinkClock } from '../../../../hardware/audio/paced-clock.ts';

// 1000 frames/s keeps the arithmetic readable: one frame per millisecond.
const RATE = 1000;

describe('PacedClock', () => {
  it('reports no delay before anything is written', () => {
    const c = new PacedClock(RATE, 100);
    expect(c.delayFrames(5_000_000)).to.equal(0);
    expect(c.roomFrames(5_000_000)).to.equal(100);
    expect(c.underruns).to.equal(0);
  });

  it('starts its play-head at the first write and consumes frames in real time', () => {
    const c = new PacedClock(RATE, 100);
    c.commit(80, 1_000_000);
    expect(c.delayFrames(1_000_000)).to.equal(80);
    expect(c.delayFrames(1_030_000)).to.equal(50);
    expect(c.roomFrames(1_030_000)).to.equal(50);
    expect(c.delayFrames(1_080_000)).to.equal(0);
    expect(c.underruns).to.equal(0);
  });

  it('tells a writer how long to wait for room', () => {
    const c = new PacedClock(RATE, 100);
    c.commit(100, 0);
    expect(c.usUntilRoom(20, 0)).to.equal(20_000);
    expect(c.usUntilRoom(20, 20_000)).to.equal(0);
    // a write larger than the buffer waits for an empty buffer, not forever
    expect(c.usUntilRoom(500, 0)).to.equal(100_000);
  });

  it('counts an underrun when the play-head overtakes the written frames, and restarts from the next write', () => {
    const c = new PacedClock(RATE, 100);
    c.commit(10, 0); // frames 0..9 leave at 0..9 ms
    expect(c.delayFrames(50_000)).to.equal(0);
    expect(c.underruns).to.equal(1);
    expect(c.delayFrames(60_000)).to.equal(0);
    expect(c.underruns, 'one underrun, observed twice').to.equal(1);
    c.commit(10, 70_000);
    expect(c.delayFrames(70_000)).to.equal(10);
    expect(c.frameOutUs(9)).to.equal(9_000);
    expect(c.frameOutUs(10), 'silence pushed frame 10 to the restart').to.equal(70_000);
    expect(c.frameOutUs(19)).to.equal(79_000);
  });

  it('keeps frames contiguous when writes arrive just in time', () => {
    const c = new PacedClock(RATE, 100);
    c.commit(10, 0);
    c.commit(10, 10_000);
    expect(c.underruns).to.equal(0);
    expect(c.frameOutUs(15)).to.equal(15_000);
  });

  it('runs fast or slow with the rate it is given (drift)', () => {
    const c = new PacedClock(RATE * (1 + 100e-6), 100_000);
    c.commit(100_000, 0);
    expect(c.frameOutUs(10_000)).to.be.closeTo(10_000_000 / (1 + 100e-6), 1e-6);
  });

  it('rejects frames it never saw and malformed input', () => {
    const c = new PacedClock(RATE, 100);
    c.commit(5, 0);
    expect(() => c.frameOutUs(5)).to.throw(/never written/);
    expect(() => c.commit(1.5, 0)).to.throw(/non-negative integer/);
    expect(() => new PacedClock(0, 10)).to.throw(/positive/);
    expect(() => new PacedClock(48000, 0)).to.throw(/at least 1/);
  });

  describe('waitForRoom', () => {
    let timers: sinon.SinonFakeTimers;
    let clock: SinkClock;
    beforeEach(() => {
      timers = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      clock = { nowUs: () => Date.now() * 1000, sleepUs: (us) => new Promise((r) => setTimeout(r, Math.ceil(us / 1000))) };
    });
    afterEach(() => timers.restore());

    it('sleeps until the frames fit, without spinning', async () => {
      const c = new PacedClock(RATE, 100);
      c.commit(100, clock.nowUs());
      let done = false;
      const p = waitForRoom(c, 30, clock).then(() => (done = true));
      await timers.tickAsync(29);
      expect(done).to.equal(false);
      await timers.tickAsync(1);
      await p;
      expect(done).to.equal(true);
      expect(c.roomFrames(clock.nowUs())).to.be.at.least(30);
    });

    it('gives up with a clear error when time never advances', async () => {
      const c = new PacedClock(RATE, 100);
      c.commit(100, 0);
      const frozen: SinkClock = { nowUs: () => 0, sleepUs: async () => undefined };
      let err: Error | undefined;
      await waitForRoom(c, 10, frozen).catch((e: Error) => (err = e));
      expect(err?.message).to.match(/never drained/);
    });
  });
});
