// State that must survive a power cut (volume, queue), written atomically:
// write a temp file, fsync it, rename over the old one, fsync the folder.
// A corrupt file is set aside (never deleted) and defaults are used.

import fs from 'node:fs';
import path from 'node:path';

export class StateStore<T extends object> {
  private file: string;
  private timer: NodeJS.Timeout | null = null;
  private pending: T | null = null;

  constructor(dir: string, name: string, private validate: (v: unknown) => T | null, private onProblem: (msg: string) => void = () => {}) {
    this.file = path.join(dir, `${name}.json`);
  }

  load(fallback: T): T {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return fallback;
    }
    try {
      const v = this.validate(JSON.parse(text));
      if (v) return v;
      throw new Error('content does not match the expected shape');
    } catch (e) {
      const aside = `${this.file}.bad-${Date.now()}`;
      try { fs.renameSync(this.file, aside); } catch { /* leave it */ }
      this.onProblem(`state file ${this.file} unreadable (${(e as Error).message}); kept as ${aside}, using defaults`);
      return fallback;
    }
  }

  /** Saves soon (coalescing bursts of changes); `flush()` forces it. */
  save(value: T, delayMs = 200): void {
    this.pending = value;
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), delayMs);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const v = this.pending;
    this.pending = null;
    if (!v) return;
    try {
      writeAtomic(this.file, JSON.stringify(v, null, 1));
    } catch (e) {
      this.onProblem(`could not save ${this.file}: ${(e as Error).message}`);
    }
  }
}

export function writeAtomic(file: string, data: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch { /* some filesystems cannot fsync a directory */ }
}
