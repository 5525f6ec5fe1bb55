// The engine with URL sources: `url:` parsing, a stream's title changes announced as
// track events, a music server's track (a URL source with a trackId) taking part in
// the queue like a file. Fake timers; sources are tones standing in for streams.

import { expect } from 'chai';
import sinon from 'sinon';
import { AudioEngine, type TrackEvent } from '../../../../firmware/audio/engine.ts';
import { parseSourceSpec, sourceLabel, type SourceSpec } from '../../../../firmware/audio/sources/source-spec.ts';
import { ToneSource } from '../../../../firmware/audio/sources/tone-source.ts';
import type { PcmSource, StreamTitle } from '../../../../firmware/audio/types.ts';

/** a tone that says it is a stream with a title the test changes */
class TitledTone extends ToneSource {
  streamTitle: StreamTitle | null = null;
}

describe('AudioEngine with URL sources', () => {
  let timers: sinon.SinonFakeTimers;
  beforeEach(() => {
    timers = sinon.useFakeTimers({ now: 5000, toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => timers.restore());

  it('parses url: sources (http and https only)', () => {
    expect(parseSourceSpec('url:http://127.0.0.1:8000/live.mp3')).to.deep.equal({ kind: 'url', url: 'http://127.0.0.1:8000/live.mp3', live: true });
    expect(parseSourceSpec('url:https://radio.example/fip.m3u8').kind).to.equal('url');
    expect(() => parseSourceSpec('url:file:///etc/passwd')).to.throw(RangeError, /url needs an http or https URL/);
    expect(() => parseSourceSpec('url:')).to.throw(RangeError, /url needs an http or https URL/);
  });

  it('names a URL source without the user and password a station URL may hold', () => {
    expect(sourceLabel({ kind: 'url', url: 'http://me:secret@radio.example/live', live: true })).to.equal('url:http://radio.example/live');
    expect(sourceLabel({ kind: 'url', url: 'http://radio.example/live', live: true, label: 'Test FM' })).to.equal('Test FM');
  });

  it('announces each new title of a stream where it is heard, with the title', () => {
    let radio: TitledTone | null = null;
    const engine = new AudioEngine({
      codecs: ['pcm'],
      clock: () => timers.now * 1000,
      openSource: (spec: SourceSpec): PcmSource => (radio = new TitledTone({ hz: spec.kind === 'url' ? 440 : 0 })),
    });
    const tracks: TrackEvent[] = [];
    engine.on('track', (t) => tracks.push(t));
    engine.start();
    engine.setSource({ kind: 'url', url: 'http://radio.example/live', live: true, label: 'Test FM' });
    timers.tick(100);
    radio!.streamTitle = { title: 'First Song', artist: 'Ann', station: 'Test FM' };
    timers.tick(100);
    radio!.streamTitle = { title: 'Second Song', artist: 'Bob', station: 'Test FM' };
    timers.tick(100);
    engine.stop();
    expect(tracks.map((t) => [t.trackId, t.title?.title ?? null, t.spec?.kind])).to.deep.equal([
      [null, null, 'url'],
      [null, 'First Song', 'url'],
      [null, 'Second Song', 'url'],
    ]);
    expect(tracks[1]!.playAt).to.be.greaterThan(tracks[0]!.playAt);
  });

  it("a server's track is a queue track: chunks carry its id and the queue goes on after it", () => {
    const next = [{ path: 'x', trackId: 'r2', spec: { kind: 'url', url: 'http://nas/rest/stream?id=2', live: false, trackId: 'r2', server: 'home' } as SourceSpec }];
    const opened: SourceSpec[] = [];
    const engine = new AudioEngine({
      codecs: ['pcm'],
      clock: () => timers.now * 1000,
      nextTrack: () => next.shift() ?? null,
      openSource: (spec) => {
        opened.push(spec);
        return new ToneSource({ hz: 440, durationMs: 100 });
      },
    });
    const chunks: Array<string | undefined> = [];
    engine.on('chunk', (c) => chunks.push(c.trackId));
    engine.start();
    engine.setSource({ kind: 'url', url: 'http://nas/rest/stream?id=1', live: false, trackId: 'r1', server: 'home' });
    expect(engine.currentTrackId).to.equal('r1');
    timers.tick(300);
    engine.stop();
    expect(opened.map((s) => (s.kind === 'url' ? s.trackId : s.kind))).to.deep.equal(['r1', 'r2']);
    expect(chunks).to.include('r1').and.to.include('r2');
  });
});
