// The play log's records and their CSV, shared by the box (`nearcast-box playlog`,
// the `playlog` request) and the CLI (`nearcast fleet playlog`): README "Play log".
// Browser-safe.

export type PlayedKind = 'song' | 'jingle' | 'ad' | 'news' | 'announcement';

export interface PlayedItem {
  /** unique per item: the start instant and the track */
  id: string;
  start: string;
  end: string;
  playedMs: number;
  kind: PlayedKind;
  title: string;
  artist: string;
  album: string;
  isrc: string | null;
  /** the file (or URL) it came from; a music server's song: its stream URL, without credentials */
  file: string | null;
  /** the music server (config `servers`) a song came from; absent for the box's own files and URL items */
  server?: string;
  playlist: string | null;
  listenersAtStart: number;
}

/** one page of a box's play log (the `playlog` request's reply) */
export interface PlayLogPage {
  items: PlayedItem[];
  /** where the next page starts (send it as `cursor`), null after the last */
  next: string | null;
}

export const CSV_COLUMNS = ['start', 'end', 'played_ms', 'kind', 'title', 'artist', 'album', 'isrc', 'file', 'playlist', 'listeners_at_start'] as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** checks a --from/--to value: a calendar day YYYY-MM-DD that exists */
export function parseDay(value: string): string {
  const date = new Date(`${value}T12:00:00Z`);
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

/** The CSV a royalty report wants; with `box`, a first column names the box each row came from. */
export function toCsv(items: Array<PlayedItem & { box?: string }>, options: { box?: boolean } = {}): string {
  const header = options.box ? ['box', ...CSV_COLUMNS] : [...CSV_COLUMNS];
  const rows = items.map((i) =>
    [...(options.box ? [i.box] : []), i.start, i.end, i.playedMs, i.kind, i.title, i.artist, i.album, i.isrc, i.file, i.playlist, i.listenersAtStart].map(field).join(','),
  );
  return [header.join(','), ...rows].join('\r\n') + '\r\n';
}
