import { expect } from 'chai';
import { DeviceClock } from '../../../../firmware/util/device-clock.ts';

const RATE = 48000;

/**
 * Feeds readings every 10 ms for `seconds`: a device consuming at RATE·(1 + ppm)
 * from local time 0 (plus `shiftFrames(t)`, a real move of the device), reported
 * with `reportErrorUs(t)` added to its delay, while 150 ms stay queued.
 */
function feed(
  clock: DeviceClock,
  o: {
    seconds: number;
    from?: number;
    ppm?: number;
    reportErrorUs?: (tUs: number) => number;
    shiftFrames?: (tUs: number) => number;
    onStep?: (frames: number, tUs: number) => void;
  },
): (tUs: number) => number {
  const consumedAt = (tUs: number) => (tUs / 1e6) * RATE * (1 + (o.ppm ?? 0) * 1e-6) + (o.shiftFrames?.(tUs) ?? 0);
  for (let tUs = (o.from ?? 0) * 1e6; tUs < ((o.from ?? 0) + o.seconds) * 1e6; tUs += 10_000) {
    const written = Math.floor(consumedAt(tUs)) + 0.15 * RATE;
    const delay = written - consumedAt(tUs) + ((o.reportErrorUs?.(tUs) ?? 0) * RATE) / 1e6;
    const step = clock.observe(tUs, written, delay);
    if (step) o.onStep?.(step.frames, tUs);
  }
  return consumedAt;
}

/** how far off (µs) the model says frame `consumedAt(t)` leaves, at time t */
function predictionErrorUs(clock: DeviceClock, consumedAt: (tUs: number) => number, tUs: number): number {
  return clock.frameOutUs(consumedAt(tUs)) - tUs;
}

/**
 * A sound server that interpolates its delay between timing updates on the system clock while
 * its device runs on another: the interpolation drifts at the clocks' difference (here 300 ppm)
 * and re-snaps at each update (1.5 s apart), a sawtooth of ±0.22 ms about the line.
 */
const sawtooth = (tUs: number) => (((tUs / 1.5e6) % 1) - 0.5) * 450;

describe('DeviceClock', () => {
  it('with exact readings, predicts when a frame leaves to within a frame, and says the device reports finely', () => {
    const clock = new DeviceClock({ rate: RATE });
    const consumedAt = feed(clock, { seconds: 3, ppm: 80 });
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 3e6)), 'µs').to.be.below(1e6 / RATE);
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 3.2e6)), 'µs, 200 ms ahead').to.be.below(1e6 / RATE);
    expect(clock.noiseUs).to.be.below(30);
    expect(clock.ppm).to.be.closeTo(80, 10);
  });

  it("averages a sound server's interpolation sawtooth out: prediction within 0.1 ms after 20 s, drift learnt, no step", () => {
    const clock = new DeviceClock({ rate: RATE });
    let steps = 0;
    const consumedAt = feed(clock, { seconds: 20, ppm: -50, reportErrorUs: sawtooth, onStep: () => steps++ });
    expect(steps).to.equal(0);
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 20e6)), 'µs at the end').to.be.below(100);
    expect(clock.noiseUs, 'reported noise, µs').to.be.within(60, 180);
    expect(clock.ppm).to.be.closeTo(-50, 40);
  });

  it('ignores single wild readings: a 20 ms spike moves nothing', () => {
    const clock = new DeviceClock({ rate: RATE });
    const consumedAt = feed(clock, { seconds: 4 });
    const before = predictionErrorUs(clock, consumedAt, 4e6);
    let steps = 0;
    feed(clock, { from: 4, seconds: 0.01, reportErrorUs: () => 20_000, onStep: () => steps++ });
    feed(clock, { from: 4.01, seconds: 2, onStep: () => steps++ });
    expect(steps).to.equal(0);
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 6e6) - before), 'µs moved').to.be.below(25);
  });

  it('follows a real, persistent move of the device (a stall) once it has lasted 80 ms, and says by how much', () => {
    const clock = new DeviceClock({ rate: RATE });
    const stall = (tUs: number) => (tUs >= 5e6 ? -480 : 0); // stood still for 10 ms at 5 s
    const stepAt: Array<{ frames: number; tUs: number }> = [];
    const consumedAt = feed(clock, { seconds: 7, shiftFrames: stall, reportErrorUs: sawtooth, onStep: (frames, tUs) => stepAt.push({ frames, tUs }) });
    expect(stepAt).to.have.length(1);
    expect(stepAt[0]!.frames).to.be.closeTo(-480, 30);
    expect(stepAt[0]!.tUs - 5e6).to.be.within(80e3, 200e3);
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 7e6)), 'µs after the step').to.be.below(400);
    expect(clock.steps).to.equal(1);
  });

  it("follows a sound server's small moves within 0.1 s: PulseAudio settling a stream (+1.5, +1.1, +0.7, +0.6 ms, 1.5 s apart)", () => {
    // as recorded from the ALSA pulse PCM: readings agree within ~10 µs, the line moves in steps (ARCHITECTURE.md, "Playout")
    const moves = [
      [4.1, 1.5],
      [5.6, 1.1],
      [7.1, 0.7],
      [8.6, 0.6],
    ] as const;
    const shift = (tUs: number) => moves.reduce((sum, [at, ms]) => sum + (tUs >= at * 1e6 ? ms * 48 : 0), 0);
    const fine = (tUs: number) => Math.sin(tUs / 7e3) * 10; // ±10 µs
    const clock = new DeviceClock({ rate: RATE });
    const stepAt: number[] = [];
    const consumedAt = feed(clock, { seconds: 12, ppm: 300, shiftFrames: shift, reportErrorUs: fine, onStep: (_, tUs) => stepAt.push(tUs) });
    expect(
      stepAt.map((t) => Math.round(t / 1e4) / 100),
      'steps confirmed at (s)',
    ).to.have.length(moves.length);
    for (const [i, [at]] of moves.entries()) expect(stepAt[i]! / 1e6 - at, `step ${i + 1} confirmed after (s)`).to.be.within(0.05, 0.12);
    for (const [at] of moves) {
      const c = new DeviceClock({ rate: RATE });
      const f = feed(c, { seconds: at + 0.15, ppm: 300, shiftFrames: shift, reportErrorUs: fine });
      expect(Math.abs(predictionErrorUs(c, f, (at + 0.15) * 1e6)), `µs off 150 ms after the move at ${at} s`).to.be.below(100);
    }
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 12e6)), 'µs at the end').to.be.below(50);
  });

  it("learns a fast device's rate within 2 s: a rate not learnt yet does not count as noise (a stream's first seconds on PulseAudio)", () => {
    const clock = new DeviceClock({ rate: RATE });
    const consumedAt = feed(clock, { seconds: 2.5, ppm: 900, reportErrorUs: (tUs) => Math.sin(tUs / 7e3) * 10 });
    expect(clock.ppm, `ppm after 2.5 s (noise ${clock.noiseUs.toFixed(0)} µs)`).to.be.closeTo(900, 100);
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 2.6e6)), 'µs off 100 ms ahead').to.be.below(100);
  });

  it('restart() begins a new line (xrun) and keeps the learnt rate', () => {
    const clock = new DeviceClock({ rate: RATE });
    feed(clock, { seconds: 10, ppm: 200 });
    clock.restart();
    const consumedAt = feed(clock, { from: 10, seconds: 0.5, ppm: 200, shiftFrames: () => 5000 });
    expect(clock.ppm).to.be.closeTo(200, 20);
    expect(Math.abs(predictionErrorUs(clock, consumedAt, 10.5e6)), 'µs').to.be.below(1e6 / RATE);
  });

  it('rejects a non-positive rate', () => {
    expect(() => new DeviceClock({ rate: 0 })).to.throw(/rate must be positive/);
  });
});
