// `nearcast-box playlog`: the play log of a range of days as JSON lines or as the CSV
// a royalty report wants (README "Play log"); and the pages of it that the `playlog`
// request answers (one bounded page per request, so that a month of a busy shop
// never makes one huge MQTT message).

import { readDays, readLines } from '../util/daily-log.ts';
import { type PlayedItem, type PlayLogPage, parseDay, toCsv } from '../wire/play-log.ts';

export { CSV_COLUMNS, parseDay, toCsv } from '../wire/play-log.ts';

export function exportPlayLog(dir: string, from: string, to: string, format: 'csv' | 'jsonl'): string {
  if (from > to) throw new RangeError(`--from ${from} is after --to ${to}`);
  const items = readDays(dir, from, to) as PlayedItem[];
  return format === 'csv' ? toCsv(items) : items.map((i) => JSON.stringify(i) + '\n').join('');
}

/** at most this many items per page */
export const PAGE_ITEMS = 500;
/** and at most about this many bytes of records (one record more if the first alone is larger) */
export const PAGE_BYTES = 32 * 1024;

const CURSOR = /^(\d{4}-\d{2}-\d{2}):(\d{1,7})$/;

/**
 * One page of the days from..to: the records from `cursor` (`<day>:<line>`, as a
 * previous page's `next` said; absent: the start), and where the next page starts.
 * Throws RangeError with a message for the requester on bad days or cursor.
 */
export function playLogPage(dir: string, from: string, to: string, cursor?: string): PlayLogPage {
  parseDay(from);
  parseDay(to);
  if (from > to) throw new RangeError(`from ${from} is after to ${to}`);
  let startDay = from;
  let startLine = 0;
  if (cursor !== undefined) {
    const match = CURSOR.exec(cursor);
    if (!match || match[1]! < from || match[1]! > to) throw new RangeError(`cursor '${cursor.slice(0, 40)}' is not one this range's pages gave`);
    startDay = match[1]!;
    startLine = Number(match[2]);
  }
  const items: PlayedItem[] = [];
  let bytes = 0;
  for (const { day, lines } of readLines(dir, startDay, to)) {
    for (let index = day === startDay ? startLine : 0; index < lines.length; index++) {
      const line = lines[index]!;
      if (items.length >= PAGE_ITEMS || (items.length > 0 && bytes + line.length > PAGE_BYTES)) return { items, next: `${day}:${index}` };
      try {
        items.push(JSON.parse(line) as PlayedItem);
        bytes += line.length;
      } catch {
        /* a line that is not JSON was not written by DailyLog; skipped */
      }
    }
  }
  return { items, next: null };
}
