import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import type { CaptureDevice } from '../../../../hardware/audio/alsa-capture.ts';
import { LiveInput } from '../../../../firmware/domain/live-input.ts';
import type { NowPlaying } from '../../../../firmware/domain/playback-control.ts';
import { BoxEvents } from '../../../../firmware/domain/box-events.ts';
import type { CaptureSource } from '../../../../firmware/audio/sources/capture-source.ts';
import { SourceOpener } from '../../../../firmware/audio/sources/source-opener.ts';

/** the bus's events, as [name, payload] in order */
function recorded(events: BoxEvents): Array<[string, Record<string, unknown>]> {
  const seen: Array<[string, Record<string, unknown>]> = [];
  for (const name of ['error', 'capture', 'silence'] as const) events.on(name, (p: object) => seen.push([name, p as Record<string, unknown>]));
  return seen;
}

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
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
  });
  afterEach(() => clock.restore());

  it('plays the library while the capture stays silent, and returns to it when sound comes back', async () => {
    const line = { loud: true };
    let current = 'capture:line';
    const selects: string[] = [];
    const bus = new BoxEvents();
    const events = recorded(bus);
    let engineSource: CaptureSource | null = null;
    const opener = new SourceOpener({ silenceSeconds: 2, silenceThreshold: 64, device: () => lineIn(line), clock: () => clock.now * 1000 });
    const playback = {
      nowPlaying: () => ({ source: current }) as NowPlaying,
      selectSource: (s: string) => {
        selects.push(s);
        current = s;
        engineSource?.close();
        engineSource = s === 'library' ? null : (opener.open({ kind: 'capture', pcm: 'line' }) as CaptureSource);
        return s;
      },
    };
    const live = new LiveInput({ opener, playback, events: bus, fallback: 'library', log: () => undefined });
    live.start();
    engineSource = opener.open({ kind: 'capture', pcm: 'line' }) as CaptureSource;
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
    expect(events.filter(([n]) => n === 'silence').map(([, p]) => p.state)).to.deep.equal(['start', 'end']);
  });

  it('without the fallback, silence is only reported', async () => {
    const line = { loud: false };
    const selects: string[] = [];
    const bus = new BoxEvents();
    const events = recorded(bus);
    const opener = new SourceOpener({ silenceSeconds: 1, silenceThreshold: 64, device: () => lineIn(line), clock: () => clock.now * 1000 });
    const playback = {
      nowPlaying: () => ({ source: 'capture:line' }) as NowPlaying,
      selectSource: (s: string) => {
        selects.push(s);
        return s;
      },
    };
    const live = new LiveInput({ opener, playback, events: bus, fallback: 'none', log: () => undefined });
    live.start();
    const src = opener.open({ kind: 'capture', pcm: 'line' }) as CaptureSource;
    const engine = setInterval(() => src.read(960), 20);
    await clock.tickAsync(2000);
    clearInterval(engine);
    src.close();
    await clock.tickAsync(100);
    live.stop();
    expect(events.map(([n]) => n)).to.include('silence');
    expect(selects).to.deep.equal([]);
  });
});

describe('LiveInput (a radio stream lost)', () => {
  /** the opener's radio reports, sent by the test */
  function setup(programme: boolean) {
    const opener = Object.assign(new EventEmitter(), { listenOffAir: () => undefined, stopListening: () => undefined });
    const selects: string[] = [];
    let current = 'Shop Radio';
    const playback = {
      nowPlaying: () => ({ source: current }) as NowPlaying,
      selectSource: (source: string) => {
        selects.push(source);
        current = source;
        return source;
      },
    };
    const bus = new BoxEvents();
    const errors: Array<Record<string, unknown>> = [];
    bus.on('error', (e) => errors.push(e));
    const live = new LiveInput({ opener: opener as unknown as SourceOpener, playback, events: bus, fallback: 'none', programme: () => programme, log: () => undefined });
    live.start();
    const lost = () => opener.emit('stream', { source: 'Shop Radio', live: true, kind: 'lost', message: 'Shop Radio: connection reset', retryInMs: 1000 });
    return { live, lost, selects, errors };
  }

  it('under a programme: told on event/error, and the programme goes on (once, on the next turn)', async () => {
    const { live, lost, selects, errors } = setup(true);
    lost();
    expect(selects, 'not switched inside the report').to.deep.equal([]);
    await new Promise((r) => setImmediate(r));
    expect(selects).to.deep.equal(['library']);
    expect(errors).to.deep.equal([{ source: 'Shop Radio', message: 'Shop Radio: connection reset; the programme goes on with its next item' }]);
    lost(); // a late report once the programme plays: only retried news, no second switch
    await new Promise((r) => setImmediate(r));
    expect(selects).to.deep.equal(['library']);
    live.stop();
  });

  it('without a programme: told with the retry, and the station is kept', async () => {
    const { live, lost, selects, errors } = setup(false);
    lost();
    await new Promise((r) => setImmediate(r));
    expect(selects).to.deep.equal([]);
    expect(errors).to.deep.equal([{ source: 'Shop Radio', message: 'Shop Radio: connection reset', retryInMs: 1000 }]);
    live.stop();
  });
});

describe('LiveInput: a skip in the input is told', () => {
  it('logs the first re-alignment at once and the rest at most every 10 s with a count; an off-air capture is not told', () => {
    const opener = Object.assign(new EventEmitter(), { listenOffAir: () => undefined, stopListening: () => undefined });
    let now = 0;
    const logged: Array<[string, string, Record<string, unknown> | undefined]> = [];
    const live = new LiveInput({
      opener: opener as never,
      playback: { nowPlaying: () => ({ source: 'capture:line' }) as NowPlaying, selectSource: (s: string) => s },
      events: new BoxEvents(),
      fallback: 'none',
      log: (level, msg, extra) => logged.push([level, msg, extra]),
      now: () => now,
    });
    live.start();
    const where = { source: 'capture:line', pcm: 'line', offAir: false };
    opener.emit('capture', { ...where, kind: 'realigned', cause: 'jump', errorMs: -53.7 });
    now = 2000;
    opener.emit('capture', { ...where, kind: 'realigned', cause: 'underrun', missingMs: 12 });
    opener.emit('capture', { ...where, offAir: true, kind: 'realigned', cause: 'overrun' });
    now = 11_000;
    opener.emit('capture', { ...where, kind: 'realigned', cause: 'underrun', missingMs: 20, heldUpMs: 150 });
    live.stop();
    expect(logged, JSON.stringify(logged)).to.deep.equal([
      ['warn', 'capture re-aligned: its timing jumped -53.7 ms', { source: 'capture:line' }],
      ['warn', 'capture re-aligned: 20.0 ms of it not read in time (the box was held up 150 ms just before: an overloaded machine)', { source: 'capture:line', times: 2 }],
    ]);
  });
});
