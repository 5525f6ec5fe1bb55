import { expect } from 'chai';
import { chooseWeighted, newCursor, pickTrack, type PlayedSong } from '../../../../../firmware/domain/programme/picker.ts';
import { SeededRandom } from '../../../../../firmware/domain/programme/random.ts';
import { compileEntry, resolveQuery, trackList, type TrackQueryConfig } from '../../../../../firmware/domain/programme/sources.ts';
import type { Track } from '../../../../../firmware/library/track.ts';
import { track } from './fixtures.ts';

const LIBRARY: Track[] = [
  track('a1', 'jazz', 1000, { genres: ['Jazz', 'Soul'], year: 1962, artist: 'Nina Simone' }),
  track('a2', 'jazz/late', 1000, { genres: ['jazz'], year: 1975, album: 'Été' }),
  track('b1', 'pop', 1000, { genres: ['Pop'], year: 1999, artist: 'Beyoncé' }),
  track('b2', 'pop', 1000, { year: 2010 }),
  track('j1', 'jingles', 1000),
  track('j2', 'shop/jingles', 1000),
].sort((a, b) => a.path.localeCompare(b.path));

function ids(...entries: TrackQueryConfig[]): string[] {
  const compiled = entries.map((entry) => compileEntry(entry));
  const bad = compiled.find((entry) => 'problem' in entry);
  if (bad) throw new Error(JSON.stringify(bad));
  return resolveQuery({ entries: compiled as Array<Exclude<(typeof compiled)[number], { problem: string }>> }, LIBRARY).map((t) => t.id);
}

describe('programme sources: which tracks a query means', () => {
  it('folders: absolute ones by prefix, relative ones anywhere in the library, whole segments only', () => {
    expect(ids({ folder: '/music/jazz' })).to.deep.equal(['a1', 'a2']);
    expect(ids({ folder: '/music/jaz' })).to.deep.equal([]);
    expect(ids({ folder: 'jingles' })).to.deep.equal(['j1', 'j2']);
    expect(ids({ folder: 'shop/jingles/' })).to.deep.equal(['j2']);
  });

  it('globs: * within a segment, ** across, {a,b} and [..]; a relative glob matches the end of the path', () => {
    expect(ids({ glob: '/music/*/*.mp3' }), 'in path order').to.deep.equal(['a1', 'j1', 'b1', 'b2']);
    expect(ids({ glob: '/music/**/*.mp3' })).to.have.length(6);
    expect(ids({ glob: 'jazz/**/a?.mp3' })).to.deep.equal(['a1', 'a2']);
    expect(ids({ glob: '{pop,jingles}/[bj]1.mp3' })).to.deep.equal(['j1', 'b1']);
    expect(ids({ glob: '*.flac' })).to.deep.equal([]);
  });

  it('explicit files keep their order; tags ignore case and accents; an entry ANDs its filters, a query ORs its entries, each track once', () => {
    expect(ids({ files: ['pop/b2.mp3', '/music/jazz/a1.mp3', 'missing.mp3'] })).to.deep.equal(['b2', 'a1']);
    expect(ids({ genre: ['JAZZ'] })).to.deep.equal(['a1', 'a2']);
    expect(ids({ artist: ['beyonce'] }, { album: ['ete'] })).to.deep.equal(['b1', 'a2']);
    expect(ids({ years: { from: 1960, to: 1979 } })).to.deep.equal(['a1', 'a2']);
    expect(ids({ genre: ['jazz'], years: { to: 1970 } })).to.deep.equal(['a1']);
    expect(ids({ folder: 'pop' }, { years: { from: 1990 } })).to.deep.equal(['b1', 'b2']);
  });

  it('refuses entries that name nothing', () => {
    expect(compileEntry({})).to.deep.include({ key: '' });
    expect(compileEntry({ genre: [' '] })).to.deep.equal({ key: 'genre', problem: 'names no value' });
    expect(compileEntry({ folder: '/' })).to.deep.equal({ key: 'folder', problem: 'names no folder' });
  });
});

describe('programme picker: weights, orders, no-repeat', () => {
  it('shares songs by weight exactly and never starves a weight-1 playlist beside weights 3 and 6', () => {
    const playlists = [
      { id: 'rare', weight: 1 },
      { id: 'some', weight: 3 },
      { id: 'most', weight: 6 },
    ];
    const credits = new Map<string, number>();
    const counts = new Map<string, number>();
    let sinceRare = 0;
    let longestWait = 0;
    const picks = 10_000;
    for (let i = 0; i < picks; i++) {
      const chosen = chooseWeighted(playlists, credits)?.id ?? 'none';
      counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
      sinceRare = chosen === 'rare' ? 0 : sinceRare + 1;
      longestWait = Math.max(longestWait, sinceRare);
    }
    for (const { id, weight } of playlists) {
      const share = (counts.get(id) ?? 0) / picks;
      expect(Math.abs(share - weight / 10), `${id}: share ${share} of ${picks} picks, weight ${weight}/10 (tolerance 0.001)`).to.be.at.most(0.001);
    }
    expect(longestWait, 'most songs in a row without the weight-1 playlist').to.be.at.most(9);
  });

  it('sequential goes on after the track last played, even when the list changed around it', () => {
    const list = trackList(LIBRARY);
    const cursor = newCursor();
    const random = new SeededRandom(1);
    const played = Array.from({ length: 8 }, () => pickTrack(list, 'sequential', cursor, random, { songs: 0, ms: 0 }, [], 0)?.track.id);
    expect(played).to.deep.equal([...LIBRARY.map((t) => t.id), ...LIBRARY.slice(0, 2).map((t) => t.id)]);
    const longer = trackList([track('a0', 'jazz', 1000), ...LIBRARY].sort((a, b) => a.path.localeCompare(b.path)));
    expect(cursor.lastId).to.equal(LIBRARY[1]?.id);
    expect(pickTrack(longer, 'sequential', cursor, random, { songs: 0, ms: 0 }, [], 0)?.track.id, 'the one after the last played').to.equal(LIBRARY[2]?.id);
  });

  it('shuffle plays every track once per cycle and does not repeat one across cycles', () => {
    const list = trackList(LIBRARY);
    const cursor = newCursor();
    const random = new SeededRandom(3);
    const played = Array.from({ length: LIBRARY.length * 50 }, () => pickTrack(list, 'shuffle', cursor, random, { songs: 0, ms: 0 }, [], 0)?.track.id ?? '');
    for (let cycle = 0; cycle < 50; cycle++) {
      const one = played.slice(cycle * LIBRARY.length, (cycle + 1) * LIBRARY.length);
      expect(new Set(one).size, `cycle ${cycle}: ${one.join(' ')}`).to.equal(LIBRARY.length);
    }
    const repeats = played.filter((id, i) => i > 0 && id === played[i - 1]).length;
    expect(repeats, 'the same track twice in a row').to.equal(0);
    expect(new Set(Array.from({ length: 50 }, (_, c) => played.slice(c * 6, c * 6 + 6).join())).size, 'different cycles have different orders').to.be.above(20);
  });

  it('random keeps its no-repeat window of songs and minutes, and repeats the oldest when the list is too small', () => {
    const list = trackList(Array.from({ length: 30 }, (_, i) => track(`t${i}`, 'many', 60_000)));
    const cursor = newCursor();
    const random = new SeededRandom(5);
    const history: PlayedSong[] = [];
    const noRepeat = { songs: 12, ms: 20 * 60_000 };
    let now = 0;
    let closestSongs = Infinity;
    let closestMs = Infinity;
    for (let i = 0; i < 5000; i++) {
      const id = pickTrack(list, 'random', cursor, random, noRepeat, history, now)?.track.id ?? '';
      const last = history.map((played) => played.id).lastIndexOf(id);
      if (last !== -1) {
        closestSongs = Math.min(closestSongs, history.length - last);
        closestMs = Math.min(closestMs, now - (history[last]?.at ?? 0));
      }
      history.push({ id, at: now });
      now += i % 3 === 0 ? 30_000 : 90_000; // a minute on average: the minutes window (20) is the wider one
    }
    expect(closestSongs, 'fewest songs between two plays of one track').to.be.above(12);
    expect(closestMs, 'shortest time between two plays of one track (ms)').to.be.at.least(20 * 60_000);
    const small = trackList(LIBRARY.slice(0, 3));
    const smallHistory = LIBRARY.slice(0, 3).map((t, i) => ({ id: t.id, at: i }));
    const picked = pickTrack(small, 'random', newCursor(), random, { songs: 10, ms: 0 }, smallHistory, 10);
    expect(picked, 'the one played longest ago, flagged').to.deep.equal({ track: LIBRARY[0], repeated: true });
  });

  it('the random source is seeded: the same seed, a restored state or a copy go on with the same numbers', () => {
    const first = new SeededRandom(42);
    const second = new SeededRandom(42);
    const sequence = Array.from({ length: 5 }, () => first.word());
    expect(Array.from({ length: 5 }, () => second.word())).to.deep.equal(sequence);
    const restored = SeededRandom.restore(first.state());
    const copy = first.copy();
    const next = Array.from({ length: 5 }, () => first.next());
    expect(Array.from({ length: 5 }, () => restored.next())).to.deep.equal(next);
    expect(Array.from({ length: 5 }, () => copy.next())).to.deep.equal(next);
    expect(new SeededRandom(43).word()).to.not.equal(new SeededRandom(42).word());
  });
});
