// The scheduler over simulated weeks: each test plays what it says back to back, with
// songs of seconds to minutes, and checks the whole run. Every failing assertion names
// what was measured (the wall-clock time, the counts, the gaps).

import { expect } from 'chai';
import path from 'node:path';
import { loadConfig } from '../../../../../firmware/config/config.ts';
import { formatDate, HOUR_MS, MINUTE_MS, ZoneClock } from '../../../../../firmware/domain/programme/calendar.ts';
import { SeededRandom } from '../../../../../firmware/domain/programme/random.ts';
import { compileProgramme } from '../../../../../firmware/domain/programme/validate.ts';
import { ProgrammeScheduler, type Planned, type PlannedItem } from '../../../../../firmware/domain/programme/scheduler.ts';
import type { Track } from '../../../../../firmware/library/track.ts';
import { library, localTime, programmeOf, simulate, track, wallText } from './fixtures.ts';

const BERLIN = 'Europe/Berlin';
const clock = new ZoneClock(BERLIN);
const at = (text: string) => localTime(BERLIN, text);
const when = (instant: number) => wallText(BERLIN, instant);
const minuteOf = (instant: number) => clock.wall(instant).minute;
const dateOf = (instant: number) => formatDate(clock.wall(instant).day);
const countBy = <T>(items: T[], key: (item: T) => string) => items.reduce((counts, item) => counts.set(key(item), (counts.get(key(item)) ?? 0) + 1), new Map<string, number>());

function scheduler(section: Record<string, unknown>, tracks: Track[], seed = 1): ProgrammeScheduler {
  return new ProgrammeScheduler(programmeOf({ timeZone: BERLIN, ...section }), { library: tracks, random: new SeededRandom(seed) });
}

describe('programme scheduler: playlists over simulated weeks', function () {
  this.timeout(30_000);

  it('a 02:00-03:00 playlist plays in that hour every night but the one the clock skips it (spring, Berlin)', () => {
    const run = simulate(
      scheduler(
        {
          playlists: [
            { id: 'base', items: [{ folder: 'base' }] },
            { id: 'night', items: [{ folder: 'night' }], windows: [{ start: '02:00', end: '03:00' }], weight: 1000 },
          ],
        },
        library({ base: 40, night: 10 }),
      ),
      at('2026-03-25 00:00'),
      at('2026-04-02 00:00'),
    );
    const night = run.played.filter((item) => item.playlist === 'night');
    const outside = night.filter((item) => minuteOf(item.startsAt) < 120 || minuteOf(item.startsAt) >= 180).map((item) => when(item.startsAt));
    expect(outside, 'night songs started outside 02:00-03:00').to.deep.equal([]);
    const perDate = Object.fromEntries(countBy(night, (item) => dateOf(item.startsAt)));
    for (const date of ['2026-03-25', '2026-03-26', '2026-03-27', '2026-03-28', '2026-03-30', '2026-03-31', '2026-04-01']) {
      expect(perDate[date] ?? 0, `night songs on ${date}: ${JSON.stringify(perDate)}`).to.be.at.least(10);
    }
    expect(perDate['2026-03-29'] ?? 0, `night songs on 2026-03-29, when 02:00-03:00 does not exist: ${JSON.stringify(perDate)}`).to.equal(0);
    expect(run.warnings, 'warnings').to.deep.equal([]);
  });

  it('a Saturday-night playlist crossing midnight plays nine hours on the night the clock goes back, eight the week before', () => {
    const s = scheduler(
      {
        playlists: [
          { id: 'base', items: [{ folder: 'base' }] },
          { id: 'late', items: [{ folder: 'late' }], windows: [{ days: [6], start: '22:00', end: '06:00' }], weight: 1000 },
        ],
      },
      library({ base: 20, late: 30 }),
    );
    const run = simulate(s, at('2026-10-17 12:00'), at('2026-10-26 12:00'));
    const late = run.played.filter((item) => item.playlist === 'late');
    const nights = new Map<string, PlannedItem[]>();
    for (const item of late) {
      const night = formatDate(clock.wall(item.startsAt).day - (minuteOf(item.startsAt) < 720 ? 1 : 0));
      nights.set(night, [...(nights.get(night) ?? []), item]);
    }
    expect([...nights.keys()], 'nights with late songs').to.deep.equal(['2026-10-17', '2026-10-24']);
    const span = (items: PlannedItem[]) => ((items.at(-1)?.endsAt ?? 0) - (items[0]?.startsAt ?? 0)) / HOUR_MS;
    const maxSongHours = 240_000 / HOUR_MS;
    expect(span(nights.get('2026-10-17') ?? []), 'hours from the first late song to the end of the last, 17-18 Oct').to.be.within(8 - maxSongHours, 8 + maxSongHours);
    expect(span(nights.get('2026-10-24') ?? []), 'hours from the first late song to the end of the last, 24-25 Oct').to.be.within(9 - maxSongHours, 9 + maxSongHours);
    const repeatedHour = late.filter((item) => item.startsAt >= Date.UTC(2026, 9, 25, 1) && item.startsAt < Date.UTC(2026, 9, 25, 2));
    expect(repeatedHour.length, 'late songs in the repeated hour 02:00-03:00 +01:00').to.be.at.least(10);
    // the box's one timer: the late playlist comes on at 22:00 and goes off at 06:00 +01:00
    const on = s.nextChange(at('2026-10-24 21:00'));
    expect(on && { at: when(on.at), changes: on.changes }).to.deep.equal({ at: '2026-10-24 22:00:00 +02:00', changes: ['playlists'] });
    const off = s.nextChange(on?.at ?? 0);
    expect(off && when(off.at)).to.equal('2026-10-25 06:00:00 +01:00');
  });

  it('a playlist the owner chooses plays until the playlists on the air next change, interstitials still due; then the weights again', () => {
    const s = scheduler(
      {
        playlists: [
          { id: 'day', items: [{ folder: 'day' }], windows: [{ start: '08:00', end: '18:00' }], weight: 100 },
          { id: 'evening', items: [{ folder: 'evening' }], windows: [{ start: '18:00', end: '24:00' }], weight: 100 },
          { id: 'quiet', name: 'Quiet hour', items: [{ folder: 'quiet' }], weight: 1 },
        ],
        interstitials: [{ id: 'ding', source: { folder: 'jingles' }, everySongs: 3 }],
      },
      [...library({ day: 10, evening: 10, quiet: 10 }, 60_000, 60_000), track('ding', 'jingles', 5000)],
    );
    expect(s.choose('nosuch', at('2026-05-04 16:00')), 'an unknown playlist').to.equal(null);
    const chosen = s.choose('Quiet hour', at('2026-05-04 16:00'));
    expect(chosen && { playlist: chosen.playlist, until: chosen.until && when(chosen.until) }).to.deep.equal({ playlist: 'quiet', until: '2026-05-04 18:00:00 +02:00' });
    const played = simulate(s, at('2026-05-04 16:00'), at('2026-05-04 19:00')).played;
    const songs = played.filter((item) => item.kind === 'song');
    const [before, after] = [songs.filter((item) => item.startsAt < at('2026-05-04 18:00')), songs.filter((item) => item.startsAt >= at('2026-05-04 18:00'))];
    expect(
      before.filter((item) => item.playlist !== 'quiet').map((item) => `${when(item.startsAt)} ${item.playlist}`),
      'songs from the chosen playlist until 18:00',
    ).to.deep.equal([]);
    const quietAfter = after.filter((item) => item.playlist === 'quiet').length;
    expect(quietAfter, `then the weights again (100 evening : 1 quiet): ${quietAfter} of ${after.length} songs quiet`).to.be.at.most(2);
    expect(played.filter((item) => item.kind === 'jingle').length, 'the jingle rule still runs').to.be.at.least(20);
    expect(s.chosenAt(at('2026-05-04 18:00')), 'the choice ended with the window change').to.equal(null);
  });

  it('a playlist with a date range plays only between its dates and hours', () => {
    const s = scheduler(
      {
        playlists: [
          { id: 'base', items: [{ folder: 'base' }] },
          { id: 'advent', items: [{ folder: 'advent' }], windows: [{ start: '10:00', end: '18:00', from: '2026-12-01', to: '2026-12-24' }], weight: 50 },
        ],
      },
      library({ base: 20, advent: 20 }, 60_000, 360_000),
    );
    const played = [...simulate(s, at('2026-11-29 00:00'), at('2026-12-03 00:00')).played, ...simulate(s, at('2026-12-22 00:00'), at('2026-12-27 00:00')).played];
    const advent = played.filter((item) => item.playlist === 'advent');
    const misplaced = advent.filter(
      (item) => dateOf(item.startsAt) < '2026-12-01' || dateOf(item.startsAt) > '2026-12-24' || minuteOf(item.startsAt) < 600 || minuteOf(item.startsAt) >= 1080,
    );
    expect(
      misplaced.map((item) => when(item.startsAt)),
      'advent songs outside 1-24 December 10:00-18:00',
    ).to.deep.equal([]);
    const dates = [...countBy(advent, (item) => dateOf(item.startsAt)).keys()];
    expect(dates, 'dates with advent songs').to.deep.equal(['2026-12-01', '2026-12-02', '2026-12-22', '2026-12-23', '2026-12-24']);
    const change = s.nextChange(at('2026-11-30 12:00'));
    expect(change && when(change.at), 'next change from 30 November').to.equal('2026-12-01 10:00:00 +01:00');
  });

  it('shares the songs by weight over a week, the weight-1 playlist included, with windows coming and going', () => {
    const run = simulate(
      scheduler(
        {
          playlists: [
            { id: 'rare', items: [{ folder: 'rare' }], weight: 1 },
            { id: 'common', items: [{ folder: 'common' }], weight: 9 },
            { id: 'evening', items: [{ folder: 'evening' }], weight: 10, windows: [{ start: '18:00', end: '22:00' }] },
          ],
          interstitials: [{ id: 'jingle', source: { folder: 'jingles' }, everySongs: 5 }],
        },
        library({ rare: 10, common: 30, evening: 20, jingles: 3 }, 30_000, 150_000),
      ),
      at('2026-06-01 00:00'),
      at('2026-06-08 00:00'),
    );
    const songs = run.played.filter((item) => item.kind === 'song');
    const offEvening = songs.filter((item) => minuteOf(item.startsAt) < 1080 || minuteOf(item.startsAt) >= 1320);
    const share = (items: PlannedItem[], id: string) => items.filter((item) => item.playlist === id).length / items.length;
    expect(share(offEvening, 'rare'), `share of rare outside the evening window (${offEvening.length} songs, expected 1/10 ± 0.005)`).to.be.within(0.095, 0.105);
    const evening = songs.filter((item) => !offEvening.includes(item));
    expect(share(evening, 'rare'), `share of rare in the evening (${evening.length} songs, expected 1/20 ± 0.01)`).to.be.within(0.04, 0.06);
    expect(share(evening, 'evening'), `share of evening in the evening (expected 1/2 ± 0.02)`).to.be.within(0.48, 0.52);
    let wait = 0;
    let longest = 0;
    for (const item of songs) {
      wait = item.playlist === 'rare' ? 0 : wait + 1;
      longest = Math.max(longest, wait);
    }
    expect(longest, 'most songs in a row without the weight-1 playlist').to.be.at.most(20);
  });

  it('a random playlist keeps its no-repeat window of songs and minutes over two days', () => {
    const run = simulate(
      scheduler(
        {
          playlists: [{ id: 'shop', items: [{ folder: 'shop' }], order: 'random', noRepeat: { songs: 10, minutes: 45 } }],
          interstitials: [{ id: 'jingle', source: { folder: 'jingles' }, everySongs: 3 }],
        },
        library({ shop: 40, jingles: 2 }, 20_000, 240_000),
      ),
      at('2026-06-01 00:00'),
      at('2026-06-03 00:00'),
    );
    const songs = run.played.filter((item) => item.kind === 'song');
    const last = new Map<string, { index: number; at: number }>();
    let fewestSongs = Infinity;
    let shortestMs = Infinity;
    songs.forEach((item, index) => {
      const before = last.get(item.track.id);
      if (before) [fewestSongs, shortestMs] = [Math.min(fewestSongs, index - before.index), Math.min(shortestMs, item.startsAt - before.at)];
      last.set(item.track.id, { index, at: item.startsAt });
    });
    expect(songs.length, 'songs in two days').to.be.above(1000);
    expect(fewestSongs, 'fewest songs from one play of a track to its next').to.be.above(10);
    expect(shortestMs / MINUTE_MS, 'fewest minutes from one play of a track to its next').to.be.at.least(45);
    expect(run.warnings, 'warnings').to.deep.equal([]);
  });

  it('resumes after toJSON/fromJSON exactly where it was: sequential place, shuffle, random history, rule counts', () => {
    const tracks = library({ seq: 12, shuf: 15, rand: 25, ads: 4, jingles: 3 }, 15_000, 200_000);
    const section = {
      timeZone: BERLIN,
      playlists: [
        { id: 'seq', items: [{ folder: 'seq' }], order: 'sequential', weight: 2 },
        { id: 'shuf', items: [{ folder: 'shuf' }], order: 'shuffle', weight: 3 },
        { id: 'rand', items: [{ folder: 'rand' }], order: 'random', noRepeat: { songs: 10, minutes: 20 }, weight: 2 },
      ],
      interstitials: [
        { id: 'ads', kind: 'ad', source: { folder: 'ads' }, everySongs: 3, order: 'shuffle' },
        { id: 'jingle', source: { folder: 'jingles' }, everyMinutes: 9 },
        { id: 'news', kind: 'news', source: { folder: 'jingles' }, atMinute: 30, interrupt: 'fade', priority: 9 },
      ],
    };
    const programme = programmeOf(section);
    const key = (item: Planned) => `${item.kind} ${item.kind === 'silence' ? item.reason : item.track.id} ${when(item.startsAt)}`;
    const steady = new ProgrammeScheduler(programme, { library: tracks, random: new SeededRandom(11) });
    let restarted = new ProgrammeScheduler(programme, { library: tracks, random: new SeededRandom(11) });
    let now = at('2026-05-04 08:00');
    const problems: Array<string | null> = [];
    for (let i = 0; i < 1500; i++) {
      if (i % 37 === 36) {
        const saved: unknown = JSON.parse(JSON.stringify(restarted.toJSON())); // through the file's text, as after a power cut
        const resumed = ProgrammeScheduler.fromJSON(programme, saved, { library: tracks, random: new SeededRandom(999) });
        problems.push(resumed.problem);
        restarted = resumed.scheduler;
      }
      const expected = steady.next(now).item;
      const got = restarted.next(now).item;
      expect(key(got), `item ${i} after restarts every 37 items`).to.equal(key(expected));
      now = expected.kind === 'silence' ? now + MINUTE_MS : expected.endsAt;
    }
    expect(
      problems.filter((problem) => problem !== null),
      'problems restoring',
    ).to.deep.equal([]);
    const bad = ProgrammeScheduler.fromJSON(programme, { version: 2 }, { library: tracks });
    expect(bad.problem).to.equal("field 'version' must be 1, got number 2");
    expect(bad.scheduler.next(now).item.kind, 'a scheduler with a fresh state still plays').to.not.equal('silence');
    const good = restarted.toJSON();
    const broken: unknown[] = [
      null,
      'state',
      [],
      { ...good, random: [1, 2] },
      { ...good, history: [{ id: 'x', at: -5 }] },
      { ...good, cursors: [{ list: 'library', position: 1.5, seed: 0 }] },
      { ...good, __proto__: { silent: true } },
    ];
    for (const saved of broken) {
      const resumed = ProgrammeScheduler.fromJSON(programme, saved, { library: tracks });
      expect(resumed.problem, `restoring ${JSON.stringify(saved)?.slice(0, 80)}`).to.be.a('string');
    }
    const renamed = programmeOf({ ...section, playlists: section.playlists.filter((playlist) => playlist.id !== 'seq') });
    expect(ProgrammeScheduler.fromJSON(renamed, good, { library: tracks }).problem, 'a state with a playlist the programme no longer has').to.equal(null);
  });

  it('upcoming() lists exactly what next() then plays, with planned start times, and changes nothing', () => {
    const s = scheduler(
      {
        playlists: [
          { id: 'a', items: [{ folder: 'a' }], order: 'random', noRepeat: { songs: 5 } },
          { id: 'b', items: [{ folder: 'b' }], weight: 2 },
        ],
        interstitials: [
          { id: 'ads', kind: 'ad', source: { folder: 'ads' }, everySongs: 4 },
          { id: 'news', kind: 'news', source: { folder: 'ads' }, atMinute: 0, interrupt: 'fade' },
        ],
        openingHours: [{ start: '08:00', end: '09:30' }],
      },
      library({ a: 10, b: 10, ads: 3 }),
    );
    const from = at('2026-05-05 08:40');
    const before = JSON.stringify(s.toJSON());
    const planned = s.upcoming(from, 40);
    expect(JSON.stringify(s.toJSON()), 'state after upcoming()').to.equal(before);
    expect(planned.length).to.equal(40);
    let now = from;
    planned.forEach((item, i) => {
      const played = s.next(now).item;
      expect(played, `item ${i} at ${when(now)}`).to.deep.equal(item);
      now = played.kind === 'silence' ? (played.until ?? now) : played.endsAt;
    });
    expect(
      planned.some((item) => item.kind === 'silence'),
      'the plan runs past closing time into the next opening',
    ).to.equal(true);
  });
});

describe('programme scheduler: interstitials at song boundaries', function () {
  this.timeout(30_000);

  it('every 2 songs: exactly two songs between jingles, each item starting when the previous one ends', () => {
    const run = simulate(
      scheduler(
        { playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }], interstitials: [{ id: 'jingle', source: { folder: 'jingles' }, everySongs: 2 }] },
        library({ songs: 20, jingles: 3 }, 5_000, 90_000),
      ),
      at('2026-06-01 00:00'),
      at('2026-06-03 00:00'),
    );
    const pattern = run.played.map((item) => (item.kind === 'song' ? 'S' : 'J')).join('');
    expect(pattern.replace(/^(SSJ)+S{0,2}$/, ''), `the sequence starts ${pattern.slice(0, 40)}`).to.equal('');
    const seams = run.played.slice(1).filter((item, i) => item.startsAt !== run.played[i]?.endsAt || run.played[i]?.cut !== null);
    expect(
      seams.map((item) => when(item.startsAt)),
      'items not starting at the previous end, or cut',
    ).to.deep.equal([]);
    expect(run.played.filter((item) => item.kind === 'jingle').every((item) => item.track.path.includes('/jingles/'))).to.equal(true);
  });

  it('every 10 minutes: at the first song boundary once 10 minutes have passed, never cutting a song', () => {
    const run = simulate(
      scheduler(
        { playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }], interstitials: [{ id: 'ad', kind: 'ad', source: { folder: 'ads' }, everyMinutes: 10 }] },
        library({ songs: 20, ads: 4 }, 20_000, 240_000),
      ),
      at('2026-06-01 00:00'),
      at('2026-06-02 12:00'),
    );
    const ads = run.played.map((item, i) => ({ item, i })).filter(({ item }) => item.kind === 'ad');
    expect(ads.length, 'ads in 36 hours').to.be.within((36 * 60) / 14, 36 * 6);
    let previous = at('2026-06-01 00:00');
    for (const { item, i } of ads) {
      const before = run.played[i - 1];
      const since = item.startsAt - previous;
      expect(before?.kind === 'song' && before.endsAt === item.startsAt && before.cut === null, `the ad at ${when(item.startsAt)} follows a whole song`).to.equal(true);
      expect(since, `ms from the previous ad to the one at ${when(item.startsAt)}`).to.be.at.least(10 * MINUTE_MS);
      // due mid-song, it waits for that song's end: at most one song (240 s) late
      expect(since, `ms from the previous ad to the one at ${when(item.startsAt)}`).to.be.below(10 * MINUTE_MS + 240_000);
      previous = item.startsAt;
    }
  });

  for (const interrupt of ['none', 'fade'] as const) {
    it(`news at the top of every hour (interrupt: ${interrupt}) over both DST days: 23, 24 and 25 a day`, () => {
      const section = {
        playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }],
        interstitials: [{ id: 'news', kind: 'news', source: { folder: 'news' }, atMinute: 0, interrupt, priority: 10 }],
      };
      const tracks = library({ songs: 30, news: 2 }, 30_000, 300_000);
      const runs = [
        simulate(scheduler(section, tracks), at('2026-03-28 00:00'), at('2026-03-30 00:00')),
        simulate(scheduler(section, tracks), at('2026-10-24 00:00'), at('2026-10-26 00:00')),
      ];
      for (const run of runs) {
        const news = run.played.map((item, i) => ({ item, before: run.played[i - 1] })).filter(({ item }) => item.kind === 'news');
        for (const { item, before } of news) {
          const top = item.startsAt - (interrupt === 'fade' ? 0 : (minuteOf(item.startsAt) % 60) * MINUTE_MS + (item.startsAt % MINUTE_MS));
          expect(clock.wall(top).minute % 60, `the hour of the news at ${when(item.startsAt)}`).to.equal(0);
          if (!before) continue; // the run starts with the news of its first hour
          expect(before.endsAt, `the item before the news at ${when(item.startsAt)} ends as it starts`).to.equal(item.startsAt);
          if (interrupt === 'fade') {
            expect(item.startsAt % HOUR_MS, `news at ${when(item.startsAt)} starts on the hour`).to.equal(0);
            if (before.startsAt + before.track.durationMs > item.startsAt) {
              expect(before.cut, `the song before the news at ${when(item.startsAt)} is cut`).to.deep.equal({
                at: item.startsAt,
                fadeMs: 2000,
                because: 'interstitial',
                rule: 'news',
              });
            }
          } else {
            expect(before.cut, `the song before the news at ${when(item.startsAt)}`).to.equal(null);
            expect(item.startsAt - top, `ms the news at ${when(item.startsAt)} waited for the song to end`).to.be.within(0, 300_000);
          }
        }
        const perDate = Object.fromEntries(
          countBy(
            news.map(({ item }) => item),
            (item) => dateOf(item.startsAt),
          ),
        );
        expect(run.warnings, 'warnings').to.deep.equal([]);
        const dates = Object.keys(perDate);
        expect(
          dates.map((date) => perDate[date]),
          `news per day ${JSON.stringify(perDate)}`,
        ).to.deep.equal(dates[0] === '2026-03-28' ? [24, 23] : [24, 25]);
      }
    });
  }

  it('a daily time falls due once a day: at the jump when the clock skips it, at the first pass when it shows it twice', () => {
    const section = {
      playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }],
      interstitials: [{ id: 'night', kind: 'announcement', source: { folder: 'notes' }, at: ['02:30'], interrupt: 'fade' }],
    };
    const tracks = library({ songs: 20, notes: 1 }, 20_000, 240_000);
    const times = (from: string, until: string) =>
      simulate(scheduler(section, tracks), at(from), at(until))
        .played.filter((item) => item.kind === 'announcement')
        .map((item) => when(item.startsAt));
    expect(times('2026-03-28 00:00', '2026-03-31 00:00')).to.deep.equal(['2026-03-28 02:30:00 +01:00', '2026-03-29 03:00:00 +02:00', '2026-03-30 02:30:00 +02:00']);
    expect(times('2026-10-24 00:00', '2026-10-27 00:00')).to.deep.equal(['2026-10-24 02:30:00 +02:00', '2026-10-25 02:30:00 +02:00', '2026-10-26 02:30:00 +01:00']);
  });

  it('the higher priority plays first when two are due; the minimum gap holds for the every-N rules, not for fixed times', () => {
    const tracks = library({ songs: 10, ads: 2, jingles: 2, news: 1 }, 180_000, 180_000);
    const run = simulate(
      scheduler(
        {
          playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }],
          interstitials: [
            { id: 'jingle', source: { folder: 'jingles' }, everySongs: 2 },
            { id: 'ad', kind: 'ad', source: { folder: 'ads' }, everySongs: 2, priority: 5 },
          ],
        },
        tracks,
      ),
      at('2026-06-01 09:00'),
      at('2026-06-01 11:00'),
    );
    expect(
      run.played.slice(0, 8).map((item) => item.kind),
      'both due after two songs: the ad first',
    ).to.deep.equal(['song', 'song', 'ad', 'jingle', 'song', 'song', 'ad', 'jingle']);

    const gapped = simulate(
      scheduler(
        {
          playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }],
          interstitials: [
            { id: 'jingle', source: { folder: 'jingles' }, everySongs: 1 },
            { id: 'ad', kind: 'ad', source: { folder: 'ads' }, everySongs: 1, priority: 5 },
            { id: 'news', kind: 'news', source: { folder: 'news' }, atMinute: 0, priority: 9 },
          ],
          minGapMinutes: 10,
        },
        library({ songs: 20, ads: 2, jingles: 2, news: 1 }, 20_000, 240_000),
      ),
      at('2026-06-01 09:00'),
      at('2026-06-02 09:00'),
    );
    const breaks = gapped.played.filter((item) => item.kind !== 'song');
    const tooClose = breaks.slice(1).filter((item, i) => item.kind !== 'news' && item.startsAt - (breaks[i]?.endsAt ?? 0) < 10 * MINUTE_MS);
    expect(
      tooClose.map((item) => `${item.kind} ${when(item.startsAt)}`),
      'every-N interstitials within 10 min of the previous one',
    ).to.deep.equal([]);
    const kinds = countBy(breaks, (item) => item.kind);
    expect(kinds.get('news'), `news in 24 h (${JSON.stringify([...kinds])})`).to.equal(24);
    expect(kinds.get('ad') ?? 0, 'ads outnumber jingles (priority)').to.be.above(kinds.get('jingle') ?? 0);
    const newsRightAfter = breaks.slice(1).filter((item, i) => item.kind === 'news' && item.startsAt - (breaks[i]?.endsAt ?? 0) < 10 * MINUTE_MS);
    expect(newsRightAfter.length, 'news within the gap after another interstitial (exempt)').to.be.above(0);
  });
});

describe('programme scheduler: opening hours, volume and what it does with bad input', function () {
  this.timeout(30_000);

  it('is silent outside opening hours and on closures, cuts the song at closing and starts again at opening', () => {
    const s = scheduler(
      {
        playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }],
        interstitials: [{ id: 'ad', kind: 'ad', source: { folder: 'ads' }, everyMinutes: 30 }],
        openingHours: [{ days: [1, 2, 3, 4, 5, 6], start: '09:00', end: '19:00' }],
        closures: [{ from: '2026-12-24', to: '2026-12-26', note: 'Christmas' }],
      },
      library({ songs: 30, ads: 3 }, 30_000, 300_000),
    );
    const run = simulate(s, at('2026-12-19 00:00'), at('2026-12-29 00:00'));
    const silences = run.items
      .filter((item) => item.kind === 'silence')
      .map((item) => `${when(item.startsAt)} → ${item.kind === 'silence' && item.until !== null ? when(item.until) : 'never'}: ${item.reason}`);
    expect(silences).to.deep.equal([
      '2026-12-19 00:00:00 +01:00 → 2026-12-19 09:00:00 +01:00: closed: outside the opening hours',
      '2026-12-19 19:00:00 +01:00 → 2026-12-21 09:00:00 +01:00: closed: outside the opening hours',
      '2026-12-21 19:00:00 +01:00 → 2026-12-22 09:00:00 +01:00: closed: outside the opening hours',
      '2026-12-22 19:00:00 +01:00 → 2026-12-23 09:00:00 +01:00: closed: outside the opening hours',
      '2026-12-23 19:00:00 +01:00 → 2026-12-28 09:00:00 +01:00: closed: outside the opening hours', // on through Christmas and Sunday
      '2026-12-28 19:00:00 +01:00 → 2026-12-29 09:00:00 +01:00: closed: outside the opening hours',
    ]);
    const christmas = s.next(at('2026-12-25 10:00')).item;
    expect(christmas.kind === 'silence' && `${christmas.reason} until ${christmas.until !== null ? when(christmas.until) : 'never'}`).to.equal(
      'closed: 2026-12-24 to 2026-12-26 (Christmas) until 2026-12-28 09:00:00 +01:00',
    );
    expect([s.isOpen(at('2026-12-23 18:59')), s.isOpen(at('2026-12-23 19:00')), s.isOpen(at('2026-12-27 12:00')), s.isOpen(at('2026-12-28 09:00'))]).to.deep.equal([
      true,
      false,
      false,
      true,
    ]);
    const whileClosed = run.played.filter((item) => !s.isOpen(item.startsAt));
    expect(
      whileClosed.map((item) => when(item.startsAt)),
      'items started while closed',
    ).to.deep.equal([]);
    const closings = run.played.filter((item) => item.cut?.because === 'closing');
    expect(
      closings.map((item) => when(item.endsAt)),
      'items faded out at closing time',
    ).to.have.length.at.least(5);
    expect(
      closings.every((item) => minuteOf(item.endsAt) === 19 * 60 && item.endsAt % MINUTE_MS === 0),
      closings.map((item) => when(item.endsAt)).join(', '),
    ).to.equal(true);
    // every-30-minutes ads count from the opening, not from the evening before
    const firstAds = [
      ...countBy(
        run.played.filter((item) => item.kind === 'ad'),
        (item) => dateOf(item.startsAt),
      ).keys(),
    ].map((date) => run.played.find((item) => item.kind === 'ad' && dateOf(item.startsAt) === date)?.startsAt ?? 0);
    expect(
      firstAds.map((instant) => minuteOf(instant) - 9 * 60),
      'minutes from opening to the first ad of each day',
    ).to.satisfy((gaps: number[]) => gaps.every((gap) => gap >= 30 && gap < 36));
  });

  it('schedules the volume by window under the maximum and tells when it changes next', () => {
    const s = scheduler(
      {
        playlists: [{ id: 'songs', items: [{ folder: 'songs' }] }],
        volume: {
          max: 70,
          windows: [
            { start: '07:00', end: '10:00', volume: 40 },
            { days: [6, 7], start: '10:00', end: '22:00', volume: 65 },
            { start: '08:00', end: '09:00', volume: 20 },
          ],
        },
      },
      library({ songs: 3 }),
    );
    const cases: Array<[string, number | null]> = [
      ['2026-06-06 06:59', null],
      ['2026-06-06 07:00', 40],
      ['2026-06-06 08:30', 40],
      ['2026-06-06 10:00', 65],
      ['2026-06-06 21:59', 65],
      ['2026-06-06 22:00', null],
      ['2026-06-08 12:00', null],
    ];
    for (const [text, volume] of cases) expect(s.volumeAt(at(text)), text).to.deep.equal({ volume, max: 70 });
    const changes: string[] = [];
    for (let now = at('2026-06-06 05:00'), step = 0; step < 5; step++) {
      const change = s.nextChange(now);
      if (!change) break;
      changes.push(`${when(change.at)} ${change.changes.join(',')}`);
      now = change.at;
    }
    expect(changes).to.deep.equal([
      '2026-06-06 07:00:00 +02:00 volume',
      '2026-06-06 10:00:00 +02:00 volume',
      '2026-06-06 22:00:00 +02:00 volume',
      '2026-06-07 07:00:00 +02:00 volume',
      '2026-06-07 10:00:00 +02:00 volume',
    ]);
  });

  it('never throws on bad input: no time, an empty library, a playlist without tracks, a track without duration', () => {
    const section = {
      playlists: [
        { id: 'ghost', items: [{ folder: 'nowhere' }] },
        { id: 'songs', items: [{ folder: 'songs' }], windows: [{ start: '12:00', end: '13:00' }] },
      ],
      interstitials: [
        { id: 'ads', kind: 'ad', source: { folder: 'no-ads' }, everySongs: 1 },
        { id: 'jingle', source: { folder: 'jingles' }, everySongs: 50 },
      ],
    };
    const tracks = [track('s1', 'songs', NaN), track('s2', 'other', 60_000), track('j1', 'jingles', 5_000)];
    const s = scheduler(section, tracks);
    for (const bad of [NaN, -1, Infinity, 1e20, '12:00' as unknown as number]) {
      const result = s.next(bad);
      expect(result.item.kind, `next(${String(bad)})`).to.equal('silence');
      expect(result.warnings.join(), `next(${String(bad)})`).to.match(/not a time/);
      expect([s.isOpen(bad), s.volumeAt(bad).volume, s.nextChange(bad), s.upcoming(bad, 3)]).to.deep.equal([false, null, null, []]);
    }
    expect(s.upcoming(at('2026-06-01 09:00'), -2)).to.deep.equal([]);
    const ghost = s.next(at('2026-06-01 09:00'));
    expect(ghost.item.kind === 'song' && ghost.item.track.id, 'the whole library, less the jingles').to.be.oneOf(['s1', 's2']);
    expect(ghost.warnings).to.include('playlist "ghost" has no tracks in the library: playing the whole library instead');
    const noAds = s.next(at('2026-06-01 09:10'));
    expect(noAds.warnings).to.include('rule "ads" (every 1 song) has no tracks in the library: nothing played for it');
    expect(noAds.item.kind).to.equal('song');
    const noon = s.next(at('2026-06-01 12:00'));
    expect(noon.item.kind === 'song' && noon.item.track.id).to.equal('s1');
    expect(noon.warnings).to.include('track "s1" has no usable duration; planned as 3 min');
    expect(noon.item.kind === 'song' && noon.item.endsAt - noon.item.startsAt).to.equal(180_000);
    const empty = scheduler(section, []).next(at('2026-06-01 12:00'));
    expect(empty).to.deep.equal({
      item: { kind: 'silence', reason: 'the library is empty', startsAt: at('2026-06-01 12:00'), until: null },
      warnings: ['nothing to play: the library is empty'],
    });
    const gap = scheduler({ playlists: [{ id: 'songs', items: [{ folder: 'songs' }], windows: [{ start: '12:00', end: '13:00' }] }] }, tracks).next(at('2026-06-01 14:00'));
    expect(gap.warnings[0]).to.equal('no playlist is on at 2026-06-01 14:00: playing the whole library');
  });

  it('plays a December Monday of the worked shop example (config/kiosk-example.yaml) as its comments say', () => {
    const compiled = compileProgramme(loadConfig({ file: path.resolve('config/kiosk-example.yaml') }).programme);
    if (!compiled.ok) throw new Error(compiled.errors.join('\n'));
    const tracks = [
      ...library({ morning: 30, day: 40, evening: 30, advent: 15, news: 3, ads: 6 }, 30_000, 270_000),
      track('hello', 'jingles', 8_000),
      track('welcome', 'jingles', 9_000),
      track('other', 'jingles', 7_000),
    ];
    const s = new ProgrammeScheduler(compiled.programme, { library: tracks, random: new SeededRandom(5) });
    const run = simulate(s, at('2026-12-07 07:00'), at('2026-12-08 07:00'));
    expect(run.warnings, 'warnings').to.deep.equal([]);
    const [first] = run.items;
    expect(first?.kind === 'silence' && first.until !== null && when(first.until), 'the first silence lasts until').to.equal('2026-12-07 08:00:00 +01:00');
    const news = run.played.filter((item) => item.kind === 'news').map((item) => when(item.startsAt).slice(11, 19));
    expect(news, 'news').to.deep.equal([
      '08:00:00',
      '09:00:00',
      '10:00:00',
      '11:00:00',
      '12:00:00',
      '13:00:00',
      '14:00:00',
      '15:00:00',
      '16:00:00',
      '17:00:00',
      '18:00:00',
      '19:00:00',
    ]);
    const songsBetweenAds = run.played
      .map((item) => (item.kind === 'song' ? 'S' : item.kind === 'ad' ? 'A' : ''))
      .join('')
      .split('A')
      .slice(1, -1)
      .map((songs) => songs.length);
    expect(Math.min(...songsBetweenAds), `songs between ads: ${songsBetweenAds.join(' ')}`).to.equal(4);
    expect(
      run.played.filter((item) => item.kind === 'jingle').every((item) => ['hello', 'welcome'].includes(item.track.id)),
      'jingles from the listed files only',
    ).to.equal(true);
    const byHour = (playlist: string) => [...new Set(run.played.filter((item) => item.playlist === playlist).map((item) => (clock.wall(item.startsAt).minute / 60) | 0))];
    expect(byHour('morning'), 'hours of morning songs').to.deep.equal([8, 9, 10, 11]);
    expect(byHour('evening'), 'hours of evening songs').to.deep.equal([17, 18, 19]);
    expect(byHour('advent'), 'hours of advent songs').to.deep.equal([10, 11, 12, 13, 14, 15, 16, 17]);
    expect([s.volumeAt(at('2026-12-07 09:00')).volume, s.volumeAt(at('2026-12-07 12:00')).volume, s.volumeAt(at('2026-12-07 18:00')).volume]).to.deep.equal([45, null, 65]);
  });
});
