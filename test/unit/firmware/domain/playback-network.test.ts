// Playback with radio stations and music-server tracks (the rest: playback.test.ts).
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import type { AudioEngine } from '../../../../firmware/audio/engine.ts';
import { LibraryIndex } from '../../../../firmware/library/search.ts';
import type { Track } from '../../../../firmware/library/track.ts';
import { Playback } from '../../../../firmware/domain/playback.ts';
import { persistedSchema } from '../../../../firmware/security/public-state.ts';
import { check } from '../../../../firmware/wire/schema.ts';

function fakeEngine() {
  const e = new EventEmitter() as EventEmitter & Record<string, unknown>;
  Object.assign(e, { state: 'playing', latencyMs: 400, positionMs: 0, currentTrackId: null, currentSpec: null, setSource: sinon.spy(), dropPrefetched: sinon.spy() });
  return e as unknown as AudioEngine & { setSource: sinon.SinonSpy; emit: EventEmitter['emit'] };
}

describe('Playback: radio stations and music servers', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  const remote: Track = {
    id: 'r1',
    path: 'http://nas:4533/rest/stream?id=s1&format=raw',
    title: 'Harbour Lights',
    artist: 'Remote Band',
    album: 'Far',
    durationMs: 1000,
    fileName: 'Harbour Lights.mp3',
    hasArtwork: true,
    server: 'home',
    remoteId: 's1',
  };
  const setup = () => {
    const engine = fakeEngine();
    const lib = new LibraryIndex([]);
    const library = { get: (id: string) => (id === 'r1' ? remote : lib.get(id)), all: () => lib.all() };
    const pb = new Playback({
      engine,
      library,
      clock: () => 0,
      sourceLabel: 'library',
      liveSources: ['tone:440'],
      initialVolume: 60,
      repeat: 'all',
      stations: [{ name: 'Test FM', url: 'http://radio.example/live.mp3' }],
    });
    return { pb, engine };
  };

  it('offers stations by name and plays them as live URL sources', () => {
    const { pb, engine } = setup();
    expect(pb.sources()).to.deep.equal(['library', 'tone:440', 'Test FM']);
    expect(pb.selectSource('Test FM')).to.equal('Test FM');
    expect(engine.setSource.lastCall.args[0]).to.deep.equal({ kind: 'url', url: 'http://radio.example/live.mp3', live: true, label: 'Test FM' });
    expect(pb.nowPlaying().source).to.equal('Test FM');
    expect(() => pb.selectSource('Other FM')).to.throw(RangeError, /library, tone:440, Test FM/);
  });

  it("a stream's title becomes now-playing when listeners hear it, a new track id per title", () => {
    const { pb, engine } = setup();
    pb.selectSource('Test FM');
    const heard: Array<Track | null> = [];
    pb.on('track', (t) => heard.push(t));
    const spec = engine.setSource.lastCall.args[0];
    engine.emit('track', { trackId: null, spec, playAt: 400_000, title: { title: 'First Song', artist: 'Ann', station: 'Test FM' } });
    clock.tick(400);
    engine.emit('track', { trackId: null, spec, playAt: 400_000, title: { title: 'Second Song', artist: 'Bob', station: 'Test FM' } });
    clock.tick(400);
    expect(heard.map((t) => t && { title: t.title, artist: t.artist, album: t.album, durationMs: t.durationMs })).to.deep.equal([
      { title: 'First Song', artist: 'Ann', album: 'Test FM', durationMs: 0 },
      { title: 'Second Song', artist: 'Bob', album: 'Test FM', durationMs: 0 },
    ]);
    expect(heard[0]!.id)
      .to.match(/^[0-9a-f]{12}$/)
      .and.not.equal(heard[1]!.id);
    expect(pb.nowPlaying().track).to.include({ title: 'Second Song' });
  });

  it("a server's track streams from the server: a URL source naming the server, never its credentials", () => {
    const { pb, engine } = setup();
    pb.playNow(remote);
    expect(engine.setSource.lastCall.args[0]).to.deep.equal({
      kind: 'url',
      url: 'http://nas:4533/rest/stream?id=s1&format=raw',
      live: false,
      trackId: 'r1',
      server: 'home',
      label: 'Harbour Lights (home)',
    });
    pb.enqueue(remote);
    expect(pb.nextTrack()?.spec).to.include({ kind: 'url', trackId: 'r1', server: 'home' });
  });

  it("saves a server's queued tracks whole; the saved state passes the store's schema; stations change live", () => {
    const { pb } = setup();
    pb.enqueue(remote);
    pb.enqueue(remote);
    const saved = pb.toJSON();
    expect(saved.remote, 'each server track once').to.deep.equal([remote]);
    expect(check(persistedSchema, JSON.parse(JSON.stringify(saved))).ok).to.equal(true);
    const told: string[][] = [];
    pb.on('sources', (list) => told.push(list));
    pb.setStations([{ name: 'New FM', url: 'http://radio.example/new.mp3' }]);
    expect(told).to.deep.equal([['library', 'tone:440', 'New FM']]);
    expect(() => pb.selectSource('Test FM')).to.throw(RangeError);
    expect(pb.selectSource('New FM')).to.equal('New FM');
  });
});
