// State that must survive a power cut (volume, queue), written atomically:
// write a temp file, fsync it, rename over the old one, fsync the folder.
// A value is validated before it is stored (an invalid one is refused and
// reported, so it can never poison the file), and it is written at once, off the
// event loop: `settled()` resolves when everything saved so far is on disk, and
// the request router waits for it before a reply says ok (README.md,
// "Reliability"). A corrupt file is set aside (never deleted) and defaults used.

import fs from 'node:fs';
import path from 'node:path';

export class StateStore<T extends object> {
  readonly file: string;
  private pending: T | null = null;
  private writing: Promise<void> | null = null;
  private waiters: Array<() => void> = [];
  /** the file was found corrupt at load and set aside here */
  setAside: string | null = null;

  constructor(
    dir: string,
    name: string,
    private validate: (v: unknown) => T | null,
    private onProblem: (msg: string) => void = () => {},
    /** the file's permissions: 0o600 for one that holds secrets (music servers' passwords) */
    private readonly mode = 0o644,
  ) {
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
      try {
        fs.renameSync(this.file, aside);
        this.setAside = aside;
      } catch {
        /* leave it */
      }
      this.onProblem(`state file ${this.file} unreadable (${(e as Error).message}); kept as ${aside}, using defaults`);
      return fallback;
    }
  }

  /** Validates and saves `value` (bursts coalesce into one write); false when the value is refused. */
  save(value: T): boolean {
    const v = this.validate(JSON.parse(JSON.stringify(value)));
    if (!v) {
      this.onProblem(`refused to save an invalid state to ${this.file}: ${JSON.stringify(value).slice(0, 200)}`);
      return false;
    }
    this.pending = v;
    this.writing ??= this.drain();
    return true;
  }

  /** Resolves when everything saved so far is on disk (or failed and was reported). */
  settled(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private async drain(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r)); // a burst of changes in one tick is one write
    while (this.pending) {
      const v = this.pending;
      this.pending = null;
      try {
        await writeAtomicAsync(this.file, JSON.stringify(v, null, 1), this.mode);
      } catch (e) {
        this.onProblem(`could not save ${this.file}: ${(e as Error).message}`);
      }
    }
    this.writing = null;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Writes what is pending now, synchronously (shutdown). */
  flush(): void {
    const v = this.pending;
    this.pending = null;
    if (!v) return;
    try {
      writeAtomic(this.file, JSON.stringify(v, null, 1), this.mode);
    } catch (e) {
      this.onProblem(`could not save ${this.file}: ${(e as Error).message}`);
    }
  }
}

let tmpSerial = 0;

export function writeAtomic(file: string, data: string, mode = 0o644): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${++tmpSerial}`;
  const fd = fs.openSync(tmp, 'w', mode);
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
  } catch {
    /* some filesystems cannot fsync a directory */
  }
}

export async function writeAtomicAsync(file: string, data: string, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${++tmpSerial}`;
  const fh = await fs.promises.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  try {
    const dh = await fs.promises.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    /* some filesystems cannot fsync a directory */
  }
}
