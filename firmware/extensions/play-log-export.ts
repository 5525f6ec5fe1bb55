// `nearcast-box playlog`: the play log of a range of days as JSON lines or as the CSV
// a royalty report wants (README "Play log").

import { readDays } from '../util/daily-log.ts';
import type { PlayedItem } from './play-log.ts';

export const CSV_COLUMNS = ['start', 'end', 'played_ms', 'kind', 'title', 'artist', 'album', 'isrc', 'file', 'playlist', 'listeners_at_start'] as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** checks a --from/--to value: a calendar day YYYY-MM-DD that exists */
export function parseDay(value: string): string {
  const date = new Date(`${value}T12:00:00`);
  if (!DAY.test(value) || Number.isNaN(date.getTime()) || !date.toISOString().startsWith(value)) {
    throw new RangeError(`'${value}' is not a day (expected YYYY-MM-DD)`);
  }
  return value;
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A text
 * that a spreadsheet would run as a formula (tags come from files anyone may have
 * made) starts with an apostrophe.
 */
function field(value: unknown): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(items: PlayedItem[]): string {
  const rows = items.map((i) => [i.start, i.end, i.playedMs, i.kind, i.title, i.artist, i.album, i.isrc, i.file, i.playlist, i.listenersAtStart].map(field).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

export function exportPlayLog(dir: string, from: string, to: string, format: 'csv' | 'jsonl'): string {
  if (from > to) throw new RangeError(`--from ${from} is after --to ${to}`);
  const items = readDays(dir, from, to) as PlayedItem[];
  return format === 'csv' ? toCsv(items) : items.map((i) => JSON.stringify(i) + '\n').join('');
}
