import { expect } from 'chai';
import sinon from 'sinon';
import type { CaptureDevice } from '../../../../hardware/audio/alsa-capture.ts';
import { LiveInput } from '../../../../firmware/extensions/live-input.ts';
import type { CaptureSource } from '../../../../firmware/audio/sources/capture-source.ts';

/** a line-in that delivers immediately (unclocked), loud or silent as the test says */
function lineIn(state: { loud: boolean }): CaptureDevice {
  return {
    name: 'line',
    open: async () => ({ rate: 48000, clocked: false, periodFrames: 480 }),
    read: async (n) => new Int16Array(n * 2).fill(state.loud ? 5000 : 0),
    close: async () => undefined,
  };
}

describe('LiveInput (kiosk fallback while the capture is silent)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] }); });
  afterEach(() => clock.restore());

  it('plays the library while the capture stays silent, and returns to it when sound comes back', async () => {
    const line = { loud: true };
    let current = 'capture:line';
    const selects: string[] = [];
    const events: Array<[string, Record<string, unknown>]> = [];
    let engineSource: CaptureSource | null = null;
    const live: LiveInput = new LiveInput({
      silenceSeconds: 2, silenceThreshold: 64, fallback: 'library', device: () => lineIn(line), clock: () => clock.now * 1000,
      event: (n, p) => events.push([n, p as Record<string, unknown>]), log: () => undefined,
      select: (s) => {
        selects.push(s);
        current = s;
        engineSource?.close();
        engineSource = s === 'library' ? null : (live.openSource({ kind: 'capture', pcm: 'line' }) as CaptureSource);
      },
      current: () => current,
    });
    engineSource = live.openSource({ kind: 'capture', pcm: 'line' }) as CaptureSource;
    const engine = setInterval(() => engineSource?.read(960), 20); // the engine pulls the on-air source
    await clock.tickAsync(1000);
    line.loud = false;
    await clock.tickAsync(3000);
    expect(selects).to.deep.equal(['library']);
    expect(events.filter(([n]) => n === 'silence').map(([, p]) => p.state)).to.deep.equal(['start']);
    line.loud = true; // the watcher hears it
    await clock.tickAsync(1000);
    expect(selects).to.deep.equal(['library', 'capture:line']);
    expect(current).to.equal('capture:line');
    clearInterval(engine);
    engineSource?.close();
    live.stop();
  });

  it('without the fallback, silence is only reported', async () => {
    const line = { loud: false };
    const selects: string[] = [];
    const events: string[] = [];
    const live = new LiveInput({
      silenceSeconds: 1, silenceThreshold: 64, fallback: 'none', device: () => lineIn(line), clock: () => clock.now * 1000,
      event: (n) => events.push(n), log: () => undefined, select: (s) => selects.push(s), current: () => 'capture:line',
    });
    const src = live.openSource({ kind: 'capture', pcm: 'line' }) as CaptureSource;
    const engine = setInterval(() => src.read(960), 20);
    await clock.tickAsync(2000);
    clearInterval(engine);
    src.close();
    expect(events).to.include('silence');
    expect(selects).to.deep.equal([]);
  });
});
