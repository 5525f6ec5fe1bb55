import { expect } from 'chai';
import sinon from 'sinon';
import { ProgrammeTimers } from '../../../../firmware/domain/programme-timers.ts';

const HOUR = 3_600_000;

describe('ProgrammeTimers (a programme acting on playback by the clock)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  const setup = () => {
    const engine = { latencyMs: 400, fadeOut: sinon.spy() };
    const resume = sinon.spy();
    const timers = new ProgrammeTimers({ engine, now: () => clock.now, resume });
    return { engine, resume, timers };
  };

  it('a cut item fades out its fade and the latency before its end is heard; closing stops, other cuts skip', () => {
    const { engine, timers } = setup();
    timers.planCut({ at: 10_000, fadeMs: 2000, because: 'interstitial' });
    timers.planCut({ at: 20_000, fadeMs: 1000, because: 'closing' });
    clock.tick(7599);
    expect(engine.fadeOut.called).to.equal(false);
    clock.tick(1);
    expect(engine.fadeOut.args).to.deep.equal([[2000, 'skip']]);
    clock.tick(11_000);
    expect(engine.fadeOut.args).to.deep.equal([
      [2000, 'skip'],
      [1000, 'stop'],
    ]);
  });

  it('no cut, or one further than an item lasts, plans nothing; clearCuts drops the planned ones', () => {
    const { engine, timers } = setup();
    timers.planCut(null);
    timers.planCut({ at: 7 * HOUR, fadeMs: 1000, because: 'duration' });
    timers.planCut({ at: 5000, fadeMs: 1000, because: 'duration' });
    timers.clearCuts();
    clock.tick(8 * HOUR);
    expect(engine.fadeOut.called).to.equal(false);
  });

  it('retries at the end of a silence, at least 1 s and at most 6 h ahead; a later retry replaces it, cancelResume drops it', () => {
    const { resume, timers } = setup();
    timers.resumeAt(500);
    clock.tick(999);
    expect(resume.callCount).to.equal(0);
    clock.tick(1);
    expect(resume.callCount).to.equal(1);
    timers.resumeAt(clock.now + 10 * HOUR);
    clock.tick(6 * HOUR);
    expect(resume.callCount).to.equal(2);
    timers.resumeAt(clock.now + 5000);
    timers.resumeAt(clock.now + 8000);
    clock.tick(7999);
    expect(resume.callCount).to.equal(2);
    clock.tick(1);
    expect(resume.callCount).to.equal(3);
    timers.resumeAt(clock.now + 5000);
    timers.cancelResume();
    timers.resumeAt(null);
    clock.tick(HOUR);
    expect(resume.callCount).to.equal(3);
  });
});
