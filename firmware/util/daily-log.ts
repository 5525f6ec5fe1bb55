// An append-only log of JSON lines, one file per local day (<dir>/<YYYY-MM-DD>.jsonl),
// kept for a number of days. Written so that a kill -9 or a power cut loses at most
// the record being written and never leaves a half line that a reader would take
// for a record: each record is one write of one whole line, synced to disk before
// append() returns; a file whose last line has no newline (the write that was cut)
// is cut back to its last whole line when it is next opened, and readers skip such
// a tail if they meet one while a write is under way.

import fs from 'node:fs';
import path from 'node:path';

const FILE_PATTERN = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const DAY_MS = 86_400_000;

/** the local calendar day of `at`, as the file is named */
export function localDay(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** ISO 8601 in local time with its UTC offset, e.g. 2026-12-01T21:58:26.120+01:00 */
export function isoWithOffset(at: Date): string {
  const pad = (n: number, width = 2) => String(Math.trunc(Math.abs(n))).padStart(width, '0');
  const offsetMin = -at.getTimezoneOffset();
  const sign = offsetMin >= 0 ? '+' : '-';
  return (
    `${localDay(at)}T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}` + `${sign}${pad(offsetMin / 60)}:${pad(offsetMin % 60)}`
  );
}

export interface DailyLogOptions {
  dir: string;
  /** files older than this many days are deleted (on open and at each new day) */
  keepDays: number;
}

export class DailyLog {
  private open: { day: string; fd: number } | null = null;

  constructor(private readonly options: DailyLogOptions) {
    if (!Number.isInteger(options.keepDays) || options.keepDays < 1) throw new RangeError(`keepDays must be a whole number ≥ 1, got ${options.keepDays}`);
  }

  /** Appends one record to the file of the day `at` falls on; it is on disk when this returns. */
  append(record: object, at: Date): void {
    const line = JSON.stringify(record) + '\n';
    const fd = this.fileFor(localDay(at));
    fs.writeSync(fd, line);
    fs.fsyncSync(fd);
  }

  private fileFor(day: string): number {
    if (this.open?.day === day) return this.open.fd;
    this.close();
    fs.mkdirSync(this.options.dir, { recursive: true });
    const file = path.join(this.options.dir, `${day}.jsonl`);
    cutToWholeLines(file);
    this.open = { day, fd: fs.openSync(file, 'a', 0o640) };
    this.prune(day);
    return this.open.fd;
  }

  /** deletes the files of days before the last keepDays (today included) */
  private prune(today: string): void {
    const oldest = localDay(new Date(Date.parse(`${today}T12:00:00`) - (this.options.keepDays - 1) * DAY_MS));
    for (const name of fs.readdirSync(this.options.dir)) {
      const day = FILE_PATTERN.exec(name)?.[1];
      if (day && day < oldest) fs.rmSync(path.join(this.options.dir, name), { force: true });
    }
  }

  close(): void {
    if (this.open) fs.closeSync(this.open.fd);
    this.open = null;
  }
}

/** Cuts a file that ends in the middle of a line (a write cut by a crash) back to its last whole line. */
export function cutToWholeLines(file: string): void {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return; // no file yet
  }
  if (size === 0) return;
  const fd = fs.openSync(file, 'r+');
  try {
    const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
    for (let end = size; end > 0; end -= chunk.length) {
      const start = Math.max(0, end - chunk.length);
      const read = fs.readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
      if (newline === read - 1 && end === size) return; // ends with a whole line
      if (newline >= 0) {
        fs.ftruncateSync(fd, start + newline + 1);
        return;
      }
    }
    fs.ftruncateSync(fd, 0); // not one whole line
  } finally {
    fs.closeSync(fd);
  }
}

/** The whole lines of each day's file from..to (local, inclusive), in order of days, without any unfinished last line. */
export function readLines(dir: string, from: string, to: string): Array<{ day: string; lines: string[] }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const days: Array<{ day: string; lines: string[] }> = [];
  for (const name of names.sort()) {
    const day = FILE_PATTERN.exec(name)?.[1];
    if (!day || day < from || day > to) continue;
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    days.push({ day, lines: whole.split('\n').filter((line) => line !== '') });
  }
  return days;
}

/** The records of the days from..to (local, inclusive) in order, skipping any unfinished last line. */
export function readDays(dir: string, from: string, to: string): unknown[] {
  const records: unknown[] = [];
  for (const { lines } of readLines(dir, from, to)) {
    for (const line of lines) {
      try {
        records.push(JSON.parse(line));
      } catch {
        /* a line that is not JSON was not written by DailyLog; skipped */
      }
    }
  }
  return records;
}
