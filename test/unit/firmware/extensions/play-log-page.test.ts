import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PAGE_BYTES, PAGE_ITEMS, playLogPage } from '../../../../firmware/extensions/play-log-export.ts';
import { DailyLog } from '../../../../firmware/util/daily-log.ts';
import type { PlayedItem } from '../../../../firmware/wire/play-log.ts';

const item = (title: string, file = '/m/a.mp3'): PlayedItem => ({
  id: title,
  start: '2026-12-01T09:00:00.000+01:00',
  end: '2026-12-01T09:03:00.000+01:00',
  playedMs: 180_000,
  kind: 'song',
  title,
  artist: 'A',
  album: '',
  isrc: null,
  file,
  playlist: null,
  listenersAtStart: 0,
});

describe('play log pages (the playlog request)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nearcast-playlog-page-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** every page from the start, following `next` (bounded: a cursor that did not move would loop) */
  function allPages(from: string, to: string) {
    const pages = [playLogPage(dir, from, to)];
    for (let i = 0; pages.at(-1)!.next !== null; i++) {
      if (i > 100) throw new Error(`more than 100 pages: ${pages.at(-1)!.next}`);
      pages.push(playLogPage(dir, from, to, pages.at(-1)!.next!));
    }
    return pages;
  }

  it('pages through several days in order, each page bounded in items and bytes, every item once', () => {
    const log = new DailyLog({ dir, keepDays: 30 });
    const written: string[] = [];
    // 1200 small items over three days (more than PAGE_ITEMS a page), then 40 with long file names (more than PAGE_BYTES)
    for (const [day, count, long] of [
      [28, 500, false],
      [29, 700, false],
      [30, 40, true],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const title = `d${day}-${i}`;
        written.push(title);
        log.append(item(title, long ? '/m/' + 'x'.repeat(3000) : '/m/a.mp3'), new Date(2026, 10, day, 12));
      }
    }
    log.close();
    const pages = allPages('2026-11-28', '2026-11-30');
    const titles = pages.flatMap((p) => p.items.map((i) => i.title));
    expect(titles.length, 'items over all pages').to.equal(written.length);
    expect(titles).to.deep.equal(written);
    for (const page of pages) {
      expect(page.items.length).to.be.within(1, PAGE_ITEMS);
      const bytes = page.items.reduce((sum, i) => sum + JSON.stringify(i).length, 0);
      expect(bytes, `page of ${page.items.length} items`).to.be.at.most(PAGE_BYTES);
    }
    expect(pages.length, 'pages').to.be.at.least(5);
  });

  it('only the days asked for; an empty range is one empty page', () => {
    const log = new DailyLog({ dir, keepDays: 30 });
    log.append(item('before'), new Date(2026, 10, 27, 12));
    log.append(item('inside'), new Date(2026, 10, 28, 12));
    log.append(item('after'), new Date(2026, 10, 29, 12));
    log.close();
    expect(playLogPage(dir, '2026-11-28', '2026-11-28')).to.deep.equal({ items: [item('inside')], next: null });
    expect(playLogPage(dir, '2026-10-01', '2026-10-31')).to.deep.equal({ items: [], next: null });
  });

  it('refuses bad days, a reversed range and a cursor from elsewhere, saying which', () => {
    expect(() => playLogPage(dir, '2026-02-30', '2026-03-01')).to.throw(RangeError, "'2026-02-30' is not a day");
    expect(() => playLogPage(dir, '2026-12-02', '2026-12-01')).to.throw(RangeError, 'from 2026-12-02 is after to 2026-12-01');
    expect(() => playLogPage(dir, '2026-12-01', '2026-12-02', 'bogus')).to.throw(RangeError, "cursor 'bogus'");
    expect(() => playLogPage(dir, '2026-12-01', '2026-12-02', '2026-11-01:3')).to.throw(RangeError, "cursor '2026-11-01:3'");
  });
});
