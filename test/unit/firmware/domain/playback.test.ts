import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import type { AudioEngine } from '../../../../firmware/audio/engine.ts';
import { LibraryIndex } from '../../../../firmware/library/search.ts';
import type { Track } from '../../../../firmware/library/track.ts';
import { Playback } from '../../../../firmware/domain/playback.ts';

const track = (id: string, title: string): Track => ({ id, path: `/m/${id}.flac`, title, artist: 'A', album: 'B', durationMs: 60_000, fileName: `${id}.flac`, hasArtwork: false });

function fakeEngine() {
  const e = new EventEmitter() as EventEmitter & Record<string, unknown>;
  Object.assign(e, {
    state: 'idle',
    latencyMs: 400,
    positionMs: 0,
    currentTrackId: null as string | null,
    currentSpec: null,
    setSource: sinon.spy(),
    pause: sinon.spy(),
    resume: sinon.spy(),
    skip: sinon.spy(),
    dropPrefetched: sinon.spy(),
    setVolume: sinon.spy(),
  });
  return e as unknown as AudioEngine & {
    setSource: sinon.SinonSpy;
    pause: sinon.SinonSpy;
    skip: sinon.SinonSpy;
    dropPrefetched: sinon.SinonSpy;
    setVolume: sinon.SinonSpy;
    emit: EventEmitter['emit'];
  };
}

describe('Playback', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  const setup = () => {
    const lib = new LibraryIndex([track('a', 'Moon River'), track('b', 'Café Olé'), track('c', 'Neon Tide')]);
    const engine = fakeEngine();
    let now = 1_000_000;
    const pb = new Playback({ engine, library: lib, clock: () => now, sourceLabel: 'library', initialVolume: 60, repeat: 'all' });
    return { pb, engine, lib, setNow: (v: number) => (now = v) };
  };

  it('plays a requested track now and reports it once listeners hear it (at its playAt)', () => {
    const { pb, engine, lib, setNow } = setup();
    const heard = sinon.spy();
    pb.on('track', heard);
    pb.playNow(lib.get('b')!);
    expect(engine.setSource.calledOnceWith({ kind: 'file', path: '/m/b.flac', trackId: 'b' })).to.equal(true);
    engine.emit('track', { trackId: 'b', spec: null, playAt: 1_400_000 });
    expect(heard.called).to.equal(false);
    setNow(1_650_000); // the timer fires 250 ms after the instant (a busy event loop)
    clock.tick(400);
    expect(heard.firstCall.args[0].title).to.equal('Café Olé');
    expect(heard.firstCall.args[2], 'the wall-clock instant it was scheduled for').to.equal(Date.now() - 250);
    expect(pb.nowPlaying().track?.id).to.equal('b');
  });

  it('the queue feeds the engine in order, then loops over the library', () => {
    const { pb, lib } = setup();
    pb.playNow(lib.get('a')!);
    expect(pb.enqueue(lib.get('c')!)).to.be.a('number');
    expect(pb.queue().map((t) => t.id)).to.deep.equal(['c']);
    expect(pb.nextTrack()).to.deep.equal({ path: '/m/c.flac', trackId: 'c', spec: { kind: 'file', path: '/m/c.flac', trackId: 'c' } });
    const after = pb.nextTrack();
    expect(after).to.not.equal(null);
  });

  it('enqueueing forgets the pre-opened next track; controls reach the engine', () => {
    const { pb, engine, lib } = setup();
    pb.enqueue(lib.get('a')!);
    expect(engine.dropPrefetched.calledOnce).to.equal(true);
    (engine as unknown as { state: string }).state = 'playing';
    pb.control('toggle');
    expect(engine.pause.calledOnce).to.equal(true);
    pb.control('next');
    expect(engine.skip.calledOnce).to.equal(true);
    pb.control('stop');
    expect(engine.setSource.lastCall.args[0]).to.equal(null);
  });

  it("the box volume is the speaker's: clamped, announced, and not applied to the stream", () => {
    const { pb } = setup();
    const vol = sinon.spy();
    pb.on('volume', vol);
    expect(pb.setVolume(140)).to.equal(100);
    expect(pb.setVolume(-3)).to.equal(0);
    expect(vol.args.map((a) => a[0])).to.deep.equal([100, 0]);
    expect(pb.toJSON().volume).to.equal(0);
  });

  it('saves where the playing track is, and a restarted box continues that track there', () => {
    const { pb, engine, lib } = setup();
    const e = engine as unknown as { currentTrackId: string | null; positionMs: number };
    pb.playNow(lib.get('b')!);
    engine.emit('track', { trackId: 'b', spec: null, playAt: 1_000_000 });
    clock.tick(1);
    e.currentTrackId = 'b';
    e.positionMs = 12_400; // produced; listeners hear it 400 ms later
    const saved = pb.toJSON();
    expect(saved.position).to.deep.equal({ trackId: 'b', ms: 12_000 });

    const engine2 = fakeEngine();
    const again = new Playback({
      engine: engine2,
      library: lib,
      clock: () => 0,
      sourceLabel: 'library',
      initialVolume: 60,
      queue: saved.queue,
      resume: saved.position,
      repeat: 'all',
    });
    expect(again.startQueue()).to.deep.equal({ trackId: 'b', ms: 12_000 });
    expect(engine2.setSource.lastCall.args[0]).to.deep.equal({ kind: 'file', path: '/m/b.flac', trackId: 'b', startMs: 12_000 });
    again.startQueue(); // only the first start resumes
    expect(engine2.setSource.lastCall.args[0]).to.deep.equal({ kind: 'file', path: '/m/b.flac', trackId: 'b' });
  });

  it('no position once the engine stopped the track, nor a resume into another track or past the end', () => {
    const { pb, engine, lib } = setup();
    pb.playNow(lib.get('a')!);
    engine.emit('track', { trackId: 'a', spec: null, playAt: 1_000_000 });
    clock.tick(1);
    expect(pb.toJSON().position, 'engine no longer plays it').to.equal(undefined);
    const queue = pb.toJSON().queue;
    for (const resume of [
      { trackId: 'c', ms: 5000 },
      { trackId: 'a', ms: 60_000 },
    ]) {
      const engine2 = fakeEngine();
      new Playback({ engine: engine2, library: lib, clock: () => 0, sourceLabel: 'library', initialVolume: 60, queue, resume, repeat: 'all' }).startQueue();
      expect(engine2.setSource.lastCall.args[0], JSON.stringify(resume)).to.deep.equal({ kind: 'file', path: '/m/a.flac', trackId: 'a' });
    }
  });
  it("asks a programme for the next item at the time it will be heard: the current item's real remaining duration plus the latency", () => {
    const lib = new LibraryIndex([track('a', 'Moon River'), track('b', 'Café Olé')]);
    const engine = fakeEngine();
    const asked: number[] = [];
    const programme = {
      active: () => true,
      maxVolume: () => 100,
      next: (at: number) => {
        asked.push(at);
        return { kind: 'song' as const, track: lib.get('b')!, playlist: 'p', cut: null };
      },
    };
    const pb = new Playback({ engine, library: lib, clock: () => 0, sourceLabel: 'library', initialVolume: 60, repeat: 'all', programme, now: () => 5_000_000 });
    Object.assign(engine, { remainingMs: 1234 });
    pb.nextTrack();
    Object.assign(engine, { remainingMs: null }); // a source that does not know its end: the engine's pre-open time
    pb.nextTrack();
    expect(asked).to.deep.equal([5_000_000 + 1234 + 400, 5_000_000 + 3000 + 400]);
  });

  it('plays its queue while the programme is inactive (a box without one, until one is set over MQTT)', () => {
    const lib = new LibraryIndex([track('a', 'Moon River'), track('b', 'Café Olé')]);
    const engine = fakeEngine();
    const next = sinon.spy();
    const pb = new Playback({
      engine,
      library: lib,
      clock: () => 0,
      sourceLabel: 'library',
      initialVolume: 60,
      repeat: 'all',
      programme: { active: () => false, maxVolume: () => 10, next },
    });
    expect(pb.nextTrack()?.trackId).to.be.a('string');
    expect(next.called, 'the inactive programme is not asked').to.equal(false);
    expect(pb.setVolume(80), 'nor its maximum applied').to.equal(80);
  });
});
