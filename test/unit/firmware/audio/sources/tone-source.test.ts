import { expect } from 'chai';
import { ToneSource } from '../../../../../firmware/audio/sources/tone-source.ts';

describe('ToneSource', () => {
  it('is phase-continuous across reads of any size', () => {
    const whole = new ToneSource({ hz: 440 }).read(1000);
    const split = new ToneSource({ hz: 440 });
    const a = split.read(333);
    const b = split.read(667);
    expect([...a, ...b]).to.deep.equal([...whole]);
    expect(Math.max(...whole)).to.be.within(8000, 8192); // amplitude 0.25
    expect(whole[0]).to.equal(whole[1]); // both channels
  });

  it('ends after its duration, returning only the frames left', () => {
    const t = new ToneSource({ hz: 1000, durationMs: 10 });
    expect(t.remainingFrames()).to.equal(480);
    expect(t.read(400).length).to.equal(800);
    expect(t.read(400).length).to.equal(160);
    expect(t.ended).to.equal(true);
    expect(t.read(10).length).to.equal(0);
  });

  it('is silence at 0 Hz and endless without a duration', () => {
    const s = new ToneSource({ hz: 0 });
    expect(s.kind).to.equal('silence');
    expect(s.read(960).every((v) => v === 0)).to.equal(true);
    expect(s.ended).to.equal(false);
    expect(s.remainingFrames()).to.equal(null);
  });

  it('rejects impossible parameters', () => {
    expect(() => new ToneSource({ hz: 30000 })).to.throw(/frequency/);
    expect(() => new ToneSource({ hz: 440, amplitude: 2 })).to.throw(/amplitude/);
  });
});
