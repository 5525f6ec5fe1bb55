import { expect } from 'chai';
import path from 'node:path';
import { loadConfig } from '../../../../../firmware/config/config.ts';
import { systemZone } from '../../../../../firmware/domain/programme/calendar.ts';
import { compileProgramme } from '../../../../../firmware/domain/programme/validate.ts';
import { resolveQuery } from '../../../../../firmware/domain/programme/sources.ts';
import type { ProgrammeConfig } from '../../../../../firmware/domain/programme/model.ts';
import { problemsOf, programmeOf } from './fixtures.ts';

const songs = { id: 'songs', items: [{ folder: 'songs' }] };

describe('programme validation: refused with the path of every problem', () => {
  it('the default is an empty programme, which compiles: a box without one plays as before', () => {
    const defaults = loadConfig().programme;
    expect(defaults).to.deep.equal({
      timeZone: null,
      playlists: [],
      interstitials: [],
      minGapMinutes: 0,
      fadeMs: 2000,
      openingHours: [],
      closures: [],
      volume: { max: 100, windows: [] },
    });
    const compiled = compileProgramme(defaults);
    expect(compiled.ok && compiled.programme.zone, "the zone defaults to the system's").to.equal(systemZone());
    expect(compiled.ok && compiled.programme.playlists).to.deep.equal([]);
  });

  it('the schema refuses malformed times, weekdays and keys before the compiler sees them', () => {
    expect(problemsOf({ playlists: [{ ...songs, windows: [{ start: '25:00', end: '26:00' }] }] })).to.deep.equal([
      '/programme/playlists/0/windows/0/start must match pattern "^([01][0-9]|2[0-3]):[0-5][0-9]$" (got "25:00")',
      '/programme/playlists/0/windows/0/end must match pattern "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$" (got "26:00")',
    ]);
    expect(problemsOf({ openingHours: [{ days: [0, 8] }] })).to.deep.equal([
      '/programme/openingHours/0/days/0 must be >= 1 (got 0)',
      '/programme/openingHours/0/days/1 must be <= 7 (got 8)',
    ]);
    expect(problemsOf({ playlists: [{ ...songs, oder: 'random' }] })).to.deep.equal(['unknown key /programme/playlists/0/oder']);
    expect(problemsOf({ interstitials: [{ id: 'a', kind: 'advert', source: { folder: 'ads' }, everySongs: 3 }] })).to.deep.equal([
      '/programme/interstitials/0/kind must be one of jingle, ad, news, announcement (got "advert")',
    ]);
  });

  it('the compiler refuses what the schema cannot see, each with its path', () => {
    const problems = problemsOf({
      timeZone: 'Europe/Atlantis',
      playlists: [
        { id: 'morning', items: [{ folder: 'am' }], windows: [{ start: '09:00', end: '09:00' }, { from: '2026-02-30' }] },
        { id: 'morning', items: [] },
        { items: [{ years: { from: 1990, to: 1980 } }], order: 'shuffle', noRepeat: { songs: 3 } },
      ],
      interstitials: [
        { id: 'ads', source: { playlist: 'evening' }, everySongs: 4 },
        { id: 'news', source: { folder: 'news' } },
        { id: 'both', source: { folder: 'x' }, everySongs: 2, atMinute: 0 },
        { id: 'fade', source: { folder: 'x' }, everyMinutes: 15, interrupt: 'fade' },
        { id: 'mixed', source: { playlist: 'morning', folder: 'x' }, atMinute: 30 },
        { id: 'glob', source: { glob: 'jingles/[ab' }, everySongs: 2 },
      ],
      openingHours: [
        { days: [6], from: '2026-12-01', to: '2026-12-04' },
        { from: '2026-12-10', to: '2026-12-01' },
      ],
      closures: [{ to: '2026-12-26' }, { from: '2026-12-31', to: '2026-12-30' }],
      volume: {
        max: 70,
        windows: [
          { start: '08:00', end: '10:00', volume: 80 },
          { start: '10:00', end: '12:00' },
        ],
      },
    });
    expect(problems).to.deep.equal([
      '/programme/timeZone is not a time zone this system knows (an IANA name like Europe/Berlin) (got "Europe/Atlantis")',
      '/programme/playlists/1/id repeats the id of /programme/playlists/0 (got "morning")',
      '/programme/playlists/2/id is needed: 1 to 64 letters, digits, _ . or -',
      '/programme/playlists/0/windows/0 is empty: start equals end (for the whole day write 00:00 to 24:00) (got {"start":"09:00","end":"09:00"})',
      '/programme/playlists/0/windows/1/from is not a calendar date YYYY-MM-DD (got "2026-02-30")',
      '/programme/playlists/1/items is empty: a playlist needs at least one entry (folder, glob, files, tags, urls or a music server)',
      '/programme/playlists/2/noRepeat applies to order random only (this playlist is shuffle)',
      '/programme/playlists/2/items/0/years is an empty range: from 1990 is after to 1980',
      '/programme/interstitials/0/source/playlist names no playlist of this programme (known: morning) (got "evening")',
      '/programme/interstitials/1 needs exactly one trigger of everySongs, everyMinutes, at, atMinute',
      '/programme/interstitials/2 needs exactly one trigger of everySongs, everyMinutes, at, atMinute (it has everySongs, atMinute)',
      '/programme/interstitials/3/interrupt fade needs a fixed time (at or atMinute): every-songs and every-minutes rules wait for the song boundary',
      '/programme/interstitials/4/source names a playlist and also folder: a source is one or the other',
      '/programme/interstitials/5/source/glob is not a usable pattern: unclosed [ at character 9',
      '/programme/openingHours/0 never opens: none of its days falls between from and to (got {"days":[6],"from":"2026-12-01","to":"2026-12-04"})',
      '/programme/openingHours/1 never opens: from is after to (got {"from":"2026-12-10","to":"2026-12-01"})',
      '/programme/closures/0/from is needed: the first closed date YYYY-MM-DD',
      '/programme/closures/1 is empty: to is before from (got {"from":"2026-12-31","to":"2026-12-30"})',
      '/programme/volume/windows/0/volume is above volume.max 70 (got 80)',
      '/programme/volume/windows/1/volume is needed: the volume (0 to 100) in this window',
    ]);
  });

  it("two playlists may not share a name (Home Assistant's select offers the names; a name defaults to the id)", () => {
    expect(problemsOf({ playlists: [songs, { id: 'other', name: 'songs', items: [{ folder: 'other' }] }] })).to.deep.equal([
      '/programme/playlists/1/name repeats the name of /programme/playlists/0 (a name defaults to the id) (got "songs")',
    ]);
  });

  it('an interstitial from URLs: http(s) only, alone in its source, each a track titled by its file name', () => {
    expect(problemsOf({ interstitials: [{ id: 'n', source: { urls: ['ftp://news.example/a.mp3'] }, everySongs: 2 }] })).to.deep.equal([
      '/programme/interstitials/0/source/urls/0 must match pattern "^https?://[^\\s]+$" (got "ftp://news.example/a.mp3")',
    ]);
    expect(problemsOf({ interstitials: [{ id: 'n', source: { urls: ['https://news.example/a.mp3'], folder: 'news' }, everySongs: 2 }] })).to.deep.equal([
      '/programme/interstitials/0/source names urls and also folder: an entry is one or the other (got {"urls":["https://news.example/a.mp3"],"folder":"news"})',
    ]);
    const [rule] = programmeOf({ interstitials: [{ id: 'n', kind: 'news', source: { urls: ['https://news.example/hourly/Top%20News.mp3'] }, atMinute: 0 }] }).rules;
    const tracks = rule && 'query' in rule.source ? resolveQuery(rule.source.query, []) : [];
    expect(tracks.map((t) => ({ path: t.path, title: t.title }))).to.deep.equal([{ path: 'https://news.example/hourly/Top%20News.mp3', title: 'Top News' }]);
  });

  it('a programme that skipped the schema is refused, never thrown', () => {
    const broken = { playlists: 'all of them', interstitials: [{ id: 'x', at: [7] }] } as unknown as ProgrammeConfig;
    const compiled = compileProgramme(broken);
    expect(compiled.ok).to.equal(false);
    expect(!compiled.ok && compiled.errors.join('\n')).to.match(/^\/programme is not a valid programme: /);
  });

  it('compiles a shop programme: zone, windows as minutes, triggers, closures, volume', () => {
    const programme = programmeOf({
      timeZone: 'europe/berlin',
      playlists: [
        { id: 'day', items: [{ folder: 'day' }, { genre: ['Jazz'], years: { from: 1960 } }], windows: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:30' }], weight: 3 },
      ],
      interstitials: [{ id: 'news', kind: 'news', source: { folder: 'news' }, at: ['12:00', '07:00'], interrupt: 'fade', priority: 5 }],
      openingHours: [{ start: '07:30', end: '20:00' }],
      closures: [{ from: '2026-12-25', to: '2026-12-26', note: 'Christmas' }],
      volume: { max: 80, windows: [{ start: '07:30', end: '09:00', volume: 40 }] },
    });
    expect(programme.zone).to.equal('Europe/Berlin');
    expect(programme.playlists[0]).to.include({ id: 'day', weight: 3, order: 'shuffle' });
    expect(programme.playlists[0]?.windows[0]).to.include({ weekdays: 0b001_1111, start: 480, end: 1110 });
    expect(programme.playlists[0]?.query.entries).to.have.length(2);
    expect(programme.rules[0]).to.deep.include({ id: 'news', kind: 'news', trigger: { type: 'daily', minutes: [420, 720] }, interrupt: true, priority: 5, lateMs: 600_000 });
    expect(programme.closures).to.deep.equal([{ from: 20812, to: 20813, note: 'Christmas' }]);
    expect(programme.volume.windows[0]?.volume).to.equal(40);
  });

  it("config/kiosk-example.yaml, the README's worked shop, loads and compiles", () => {
    const config = loadConfig({ file: path.resolve('config/kiosk-example.yaml') });
    const compiled = compileProgramme(config.programme);
    expect(compiled.ok ? [] : compiled.errors).to.deep.equal([]);
    expect(compiled.ok && compiled.programme.playlists.map((playlist) => playlist.id)).to.deep.equal(['morning', 'day', 'evening', 'advent']);
    expect(compiled.ok && compiled.programme.rules.map((rule) => `${rule.id}:${rule.trigger.type}`)).to.deep.equal(['news:hourly', 'ads:songs', 'jingle:minutes']);
  });
});
