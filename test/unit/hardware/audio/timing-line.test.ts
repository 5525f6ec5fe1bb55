import { expect } from 'chai';
import { TimingLine } from '../../../../hardware/audio/pa-client.ts';

const RATE = 48000;
const framesAt = (us: number) => (us * RATE) / 1e6; // a device that ran from 0 at the nominal rate

describe("TimingLine (a sound server's timing answers, stamped late but never early)", () => {
  it('is NaN before the first answer and runs an answer on at the nominal rate', () => {
    const line = new TimingLine(RATE);
    expect(line.empty).to.equal(true);
    expect(line.at(1e6)).to.be.NaN;
    line.add(1e6, framesAt(1e6));
    expect(line.empty).to.equal(false);
    expect(line.at(1.5e6)).to.be.closeTo(framesAt(1.5e6), 1e-6);
  });

  it('an answer stamped late (below the line) moves nothing while an answer on the line is in the window', () => {
    const line = new TimingLine(RATE, 300_000);
    for (let t = 0; t <= 1e6; t += 20_000) {
      // every third answer stamped 4 ms after its measurement, as a busy server's main thread does
      const lateUs = (t / 20_000) % 3 === 2 ? 4000 : 0;
      line.add(t + lateUs, framesAt(t));
      expect(line.at(t + 5000), `at ${t / 1000} ms`).to.be.closeTo(framesAt(t + 5000), 1e-6);
    }
    // a run of late answers shorter than the window (160 ms) moves nothing either
    for (let t = 1.02e6; t <= 1.18e6; t += 20_000) line.add(t + 5000, framesAt(t));
    expect(line.at(1.2e6)).to.be.closeTo(framesAt(1.2e6), 1e-6);
  });

  it('a real move forward counts at once; a real move back once the window holds no answer from before it', () => {
    const line = new TimingLine(RATE, 300_000);
    for (let t = 0; t <= 1e6; t += 20_000) line.add(t, framesAt(t));
    line.add(1.02e6, framesAt(1.02e6) + 96); // 2 ms more out than the line said
    expect(line.at(1.03e6)).to.be.closeTo(framesAt(1.03e6) + 96, 1e-6);
    // 5 ms less from 1.04 s on (a sink whose latency grew): still the old line within 300 ms...
    for (let t = 1.04e6; t <= 1.3e6; t += 20_000) line.add(t, framesAt(t) - 240);
    expect(line.at(1.3e6), 'within the window').to.be.closeTo(framesAt(1.3e6) + 96, 1e-6);
    // ...and the new one when the window holds only answers after the move
    for (let t = 1.32e6; t <= 1.4e6; t += 20_000) line.add(t, framesAt(t) - 240);
    expect(line.at(1.4e6), 'past the window').to.be.closeTo(framesAt(1.4e6) - 240, 1e-6);
  });

  it('reset() forgets every answer (the stream ran dry: its count stopped)', () => {
    const line = new TimingLine(RATE);
    line.add(0, 0);
    line.reset();
    expect(line.at(1e6)).to.be.NaN;
    line.add(1e6, 1000);
    expect(line.at(1e6)).to.equal(1000);
  });
});
