// The recorder's clock map: reads that arrive late do not move where their frames are placed.

import { expect } from 'chai';
import { ArrivalEnvelope } from '../../../test/bench/lib/arrival-envelope.ts';

const RATE = 48000;
const READ = 240; // 5 ms reads

describe('ArrivalEnvelope (when recorded frames were captured)', () => {
  it('places a frame by the earliest arrival after it, not by a read that waited', () => {
    const env = new ArrivalEnvelope(RATE);
    const t0 = 1_000_000;
    // every read on time (its last frame captured at t0 + end/rate) but for one that waited 88 ms on a busy machine
    for (let end = READ; end <= 2 * RATE; end += READ) env.add(end, t0 + (end * 1e6) / RATE + (end === RATE ? 88_000 : 0) + (end % 960) / 10);
    const late = RATE - 100; // a frame of the late read
    const at = env.timeOf(late);
    const truth = t0 + (late * 1e6) / RATE;
    expect(at - truth, `placed ${((at - truth) / 1000).toFixed(3)} ms from its capture`).to.be.within(0, 100);
  });

  it('follows a step of the recording (a rewind re-rendered frames) within its window', () => {
    const env = new ArrivalEnvelope(RATE);
    for (let end = READ; end <= 4 * RATE; end += READ) env.add(end, (end * 1e6) / RATE - (end > 2 * RATE ? 5000 : 0));
    expect(env.originAt(RATE)).to.equal(0);
    expect(env.originAt(3 * RATE)).to.equal(-5000);
  });

  it('answers NaN before any read, and the last read’s origin beyond the reads', () => {
    const env = new ArrivalEnvelope(RATE);
    expect(env.originAt(0)).to.be.NaN;
    env.add(READ, 10_000);
    expect(env.originAt(10 * RATE)).to.equal(10_000 - (READ * 1e6) / RATE);
  });
});
