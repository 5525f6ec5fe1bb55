// Playlists that draw on network sources: entries of http(s) URLs, and entries that
// name a music server, resolved through a fake backend (the box's real one is the
// OpenSubsonic client, checked end to end in test/integration/programme-network.test.ts).
// Checked: the configuration's errors with their paths; what a server is asked; that
// it is asked when the playlist is picked and then not again per song, but again once
// the answer has aged; that a server which does not answer is reported and its
// playlist plays its other entries, never silence.

import { expect } from 'chai';
import { MINUTE_MS } from '../../../../../firmware/domain/programme/calendar.ts';
import { SeededRandom } from '../../../../../firmware/domain/programme/random.ts';
import { ProgrammeScheduler, type PlannedItem } from '../../../../../firmware/domain/programme/scheduler.ts';
import { ServerTracks } from '../../../../../firmware/domain/programme/server-tracks.ts';
import { stationOf, type ServerCall } from '../../../../../firmware/domain/programme/sources.ts';
import type { Track } from '../../../../../firmware/library/track.ts';
import { localTime, problemsOf, programmeOf, track } from './fixtures.ts';

const BERLIN = 'Europe/Berlin';
const START = localTime(BERLIN, '2026-05-04 10:00');

function serverTrack(id: string, artist: string, genres: string[], durationMs = 60_000): Track {
  return { ...track(id, 'remote', durationMs, { artist, genres, server: 'home', remoteId: id }), path: `http://127.0.0.1:1/rest/stream?id=${id}&format=raw` };
}

/** a fake server backend: answers from `songs` by genre or by a word of title/artist, counts its calls, can be made to fail */
function fakeBackend(songs: Track[]) {
  const calls: Array<{ server: string; call: ServerCall }> = [];
  const backend = {
    calls,
    failing: null as string | null,
    songs: async (server: string, call: ServerCall): Promise<Track[]> => {
      calls.push({ server, call });
      if (backend.failing !== null) throw new Error(`server '${server}': ${backend.failing}`);
      if (server !== 'home') throw new Error(`no music server named '${server}'`);
      if ('genre' in call) return songs.filter((song) => song.genres?.includes(call.genre));
      return songs.filter((song) => `${song.title} ${song.artist}`.toLowerCase().includes(call.search.toLowerCase()));
    },
  };
  return backend;
}

function setup(items: unknown[], songs: Track[], local: Track[]) {
  let now = START;
  const backend = fakeBackend(songs);
  const failures: string[] = [];
  const servers = new ServerTracks({ backend, onFailure: (server, problem) => failures.push(`${server}: ${problem}`), now: () => now });
  const programme = programmeOf({ timeZone: BERLIN, playlists: [{ id: 'shop', items, order: 'sequential' }] });
  const scheduler = new ProgrammeScheduler(programme, { library: local, random: new SeededRandom(3), servers });
  const play = (count: number): PlannedItem[] => {
    const played: PlannedItem[] = [];
    for (let i = 0; i < count; i++) {
      const { item } = scheduler.next(now);
      if (item.kind === 'silence') throw new Error(`silence at song ${i}: ${item.reason}`);
      played.push(item);
      now = item.endsAt;
    }
    return played;
  };
  return { backend, failures, servers, programme, play, advance: (ms: number) => (now += ms) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('programme playlists from network sources', () => {
  it('refuses server and URL entries that cannot mean anything, each with its path', () => {
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ server: 'home', folder: 'jazz' }] }] })).to.deep.equal([
      `/programme/playlists/0/items/0/folder applies to the box's own files, not to a music server's songs (server "home")`,
    ]);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ folder: 'local' }, { search: 'harbour' }] }] })).to.deep.equal([
      '/programme/playlists/0/items/1 has search but names no server (got {"search":"harbour"})',
    ]);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ server: 'home', years: { from: 1990 } }] }] })).to.deep.equal([
      '/programme/playlists/0/items/0 asks the server for nothing: give search, genre, artist or album (got {"server":"home","years":{"from":1990}})',
    ]);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ server: ' ', genre: ['Jazz'] }] }] })).to.deep.equal(['/programme/playlists/0/items/0/server names no server']);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ server: 'home', genre: [' '] }] }] })).to.deep.equal(['/programme/playlists/0/items/0/genre names no value']);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ urls: ['https://radio.example/a.mp3'], genre: ['Jazz'] }] }] })).to.deep.equal([
      '/programme/playlists/0/items/0 names urls and also genre: an entry is one or the other (got {"urls":["https://radio.example/a.mp3"],"genre":["Jazz"]})',
    ]);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ urls: ['file:///etc/passwd'] }] }] })).to.deep.equal([
      '/programme/playlists/0/items/0/urls/0 must match pattern "^https?://[^\\s]+$" (got "file:///etc/passwd")',
    ]);
  });

  it('asks the server by search, else by genre (getSongsByGenre), else by artist and album names', () => {
    const calls = (item: Record<string, unknown>) => {
      const entry = programmeOf({ playlists: [{ id: 'p', items: [item] }] }).playlists[0]?.query.entries[0];
      return entry?.kind === 'server' ? entry.calls : entry;
    };
    expect(calls({ server: 'home', search: ' harbour lights ', genre: ['Jazz'] })).to.deep.equal([{ search: 'harbour lights' }]);
    expect(calls({ server: 'home', genre: ['Jazz', 'Soul'], artist: ['Ann'] })).to.deep.equal([{ genre: 'Jazz' }, { genre: 'Soul' }]);
    expect(calls({ server: 'home', artist: ['Ann', 'Bo'], album: ['Far Away'] })).to.deep.equal([{ search: 'Ann' }, { search: 'Bo' }, { search: 'Far Away' }]);
  });

  it('plays a playlist of URL items in order, as items fetched when they play', () => {
    const { play } = setup([{ urls: ['https://radio.example/one.mp3', 'https://radio.example/two.ogg'] }], [], [track('l1', 'local', 60_000)]);
    const played = play(4);
    expect(played.map((item) => `${item.playlist}:${item.track.path}`)).to.deep.equal([
      'shop:https://radio.example/one.mp3',
      'shop:https://radio.example/two.ogg',
      'shop:https://radio.example/one.mp3',
      'shop:https://radio.example/two.ogg',
    ]);
  });

  it("a server's songs of a genre, filtered by artist: asked when picked, not per song, again once aged", async () => {
    const songs = [serverTrack('s1', 'Ann', ['Jazz']), serverTrack('s2', 'Bo', ['Jazz']), serverTrack('s3', 'Ann', ['Jazz']), serverTrack('s4', 'Ann', ['Rock'])];
    const { backend, failures, play, advance } = setup([{ server: 'home', genre: ['Jazz'], artist: ['ann'] }, { folder: 'local' }], songs, [track('l1', 'local', 60_000)]);
    // before the server's first answer the playlist plays its other entry
    expect(play(1).map((item) => item.track.id)).to.deep.equal(['l1']);
    expect(backend.calls).to.deep.equal([{ server: 'home', call: { genre: 'Jazz' } }]);
    await settle();
    const played = play(12).map((item) => item.track.id);
    expect(played.slice(0, 3), played.join(' ')).to.deep.equal(['s1', 's3', 'l1']);
    expect(new Set(played), played.join(' ')).to.deep.equal(new Set(['s1', 's3', 'l1']));
    // 13 songs of a minute: one ask at the first pick, one more once that answer was 10 minutes old
    expect(backend.calls.length, JSON.stringify(backend.calls)).to.equal(2);
    await settle();
    advance(11 * MINUTE_MS);
    const before = backend.calls.length;
    play(1);
    expect(backend.calls.length, 'an aged answer is asked for again at the next pick').to.equal(before + 1);
    expect(failures).to.deep.equal([]);
  });

  it('a server that does not answer is reported once, its playlist plays its other entries (never silence), and it is asked again a minute later', async () => {
    const songs = [serverTrack('s1', 'Ann', ['Jazz'])];
    const { backend, failures, play, advance } = setup([{ server: 'home', genre: ['Jazz'] }, { folder: 'local' }], songs, [
      track('l1', 'local', 10_000),
      track('l2', 'local', 10_000),
    ]);
    backend.failing = 'no answer in time';
    const played = play(1).map((item) => `${item.playlist}:${item.track.id}`);
    await settle();
    played.push(...play(4).map((item) => `${item.playlist}:${item.track.id}`));
    expect(played).to.deep.equal(['shop:l1', 'shop:l2', 'shop:l1', 'shop:l2', 'shop:l1']);
    expect(failures).to.deep.equal(["home: server 'home': no answer in time"]);
    expect(backend.calls.length, 'not asked again within the minute').to.equal(1);
    backend.failing = null;
    advance(MINUTE_MS);
    play(1);
    await settle();
    expect(backend.calls.length).to.equal(2);
    expect(play(2).map((item) => item.track.id)).to.include('s1');
  });

  it('a playlist of a server that never answered, alone, plays the whole library with a warning; an unknown server is reported', async () => {
    const { failures, play, servers, programme } = setup([{ server: 'attic', search: 'harbour' }], [], [track('l1', 'local', 10_000)]);
    await servers.prefetch(programme.playlists.map((playlist) => playlist.query));
    expect(failures).to.deep.equal(["attic: no music server named 'attic'"]);
    const [item] = play(1);
    expect(item?.playlist).to.equal(null);
    expect(item?.reason).to.equal('the whole library: playlist "shop" has no tracks');
  });

  it('a station entry: refused without minutes or with other filters; planned for its minutes and faded out at their end', () => {
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ station: 'Shop Radio' }] }] })).to.deep.equal([
      '/programme/playlists/0/items/0/minutes is needed with station: how long the station plays each time it is picked',
    ]);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ minutes: 5 }] }] })).to.deep.equal([
      '/programme/playlists/0/items/0 names minutes but no station: minutes is how long a station plays (got {"minutes":5})',
    ]);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ station: 'Shop Radio', minutes: 5, folder: 'x' }] }] })).to.deep.equal([
      '/programme/playlists/0/items/0 names a station and also folder: an entry is one or the other (got {"station":"Shop Radio","minutes":5,"folder":"x"})',
    ]);
    expect(problemsOf({ playlists: [{ id: 'p', items: [{ station: 'Shop Radio', minutes: 0 }] }] })).to.deep.equal(['/programme/playlists/0/items/0/minutes must be > 0 (got 0)']);
    const { play } = setup([{ station: 'Shop Radio', minutes: 15 }, { folder: 'local' }], [], [track('l1', 'local', 60_000)]);
    const [station, song] = play(2);
    expect(station && stationOf(station.track)).to.equal('Shop Radio');
    expect(station?.endsAt).to.equal(START + 15 * MINUTE_MS);
    expect(station?.cut).to.deep.equal({ at: START + 15 * MINUTE_MS, fadeMs: 2000, because: 'duration', rule: null });
    expect(song?.track.id).to.equal('l1');
    expect(song?.cut, 'a file ends by itself').to.equal(null);
  });
});
