import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cutToWholeLines, DailyLog, isoWithOffset, localDay, readDays } from '../../../../firmware/util/daily-log.ts';

describe("DailyLog (the play log's files: one per day, crash-safe)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nearcast-dailylog-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes each record as one line in the file of its local day and reads a range of days back', () => {
    const log = new DailyLog({ dir, keepDays: 30 });
    const day1 = new Date(2026, 10, 30, 23, 59, 0);
    const day2 = new Date(2026, 11, 1, 0, 1, 0);
    log.append({ n: 1 }, day1);
    log.append({ n: 2 }, day2);
    log.append({ n: 3 }, day2);
    log.close();
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['2026-11-30.jsonl', '2026-12-01.jsonl']);
    expect(fs.readFileSync(path.join(dir, '2026-12-01.jsonl'), 'utf8')).to.equal('{"n":2}\n{"n":3}\n');
    expect(readDays(dir, '2026-11-30', '2026-12-01')).to.deep.equal([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(readDays(dir, '2026-12-01', '2026-12-01')).to.deep.equal([{ n: 2 }, { n: 3 }]);
    expect(readDays(path.join(dir, 'none'), '2026-01-01', '2026-12-31')).to.deep.equal([]);
  });

  it('keeps keepDays days: older files go when a new day is opened', () => {
    for (const day of ['2026-11-01', '2026-11-27', '2026-11-28']) fs.writeFileSync(path.join(dir, `${day}.jsonl`), '{}\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a log');
    const log = new DailyLog({ dir, keepDays: 3 });
    log.append({ n: 1 }, new Date(2026, 10, 30, 12));
    log.close();
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['2026-11-28.jsonl', '2026-11-30.jsonl', 'notes.txt']);
    expect(() => new DailyLog({ dir, keepDays: 0 })).to.throw(/keepDays/);
  });

  it('a file cut in the middle of a line is cut back to its last whole line; readers skip an unfinished tail', () => {
    const file = path.join(dir, '2026-12-01.jsonl');
    fs.writeFileSync(file, '{"n":1}\n{"n":2}\n{"n":3,"ti');
    expect(readDays(dir, '2026-12-01', '2026-12-01')).to.deep.equal([{ n: 1 }, { n: 2 }]);
    cutToWholeLines(file);
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"n":1}\n{"n":2}\n');
    fs.writeFileSync(file, 'no newline at all');
    cutToWholeLines(file);
    expect(fs.readFileSync(file, 'utf8')).to.equal('');
    const log = new DailyLog({ dir, keepDays: 5 });
    fs.writeFileSync(file, '{"n":1}\n{"n":2');
    log.append({ n: 9 }, new Date(2026, 11, 1, 10));
    log.close();
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"n":1}\n{"n":9}\n');
  });

  it('times are ISO 8601 in local time with the UTC offset', () => {
    const at = new Date(2026, 11, 1, 9, 5, 7, 42);
    const text = isoWithOffset(at);
    expect(text).to.match(/^2026-12-01T09:05:07\.042[+-]\d{2}:\d{2}$/);
    expect(Date.parse(text), text).to.equal(at.getTime());
    expect(localDay(at)).to.equal('2026-12-01');
  });

  it('kill -9 during writes: every line on disk stays whole, and at most the record being written is lost', async function () {
    this.timeout(120_000);
    const writer = path.join(dir, 'writer.ts');
    const logDir = path.join(dir, 'log');
    const moduleUrl = new URL('../../../../firmware/util/daily-log.ts', import.meta.url).href;
    // a writer that appends numbered records as fast as it can, announcing each one it finished
    fs.writeFileSync(
      writer,
      `
      import { DailyLog } from ${JSON.stringify(moduleUrl)};
      const log = new DailyLog({ dir: ${JSON.stringify(logDir)}, keepDays: 2 });
      let n = Number(process.argv[2]);
      const pad = 'x'.repeat(3000); // long lines: a kill lands inside a write more often
      for (;;) { log.append({ n, pad }, new Date()); process.stdout.write(n + '\\n'); n++; }
    `,
    );
    let next = 0;
    const rounds = 6;
    for (let round = 0; round < rounds; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', writer, String(next)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let confirmed = next - 1;
      let buffered = '';
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const l of lines) confirmed = Number(l);
      });
      // kill after it has written some, at a moment that varies from round to round
      for (let i = 0; i < 400 && confirmed < next + 20; i++) await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const onDisk = readDays(logDir, '0000-00-00', '9999-99-99') as Array<{ n: number }>;
      const numbers = onDisk.map((r) => r.n);
      // everything the writer confirmed is there; at most one more (written, not yet confirmed)
      expect(numbers.length, `round ${round}: confirmed up to ${confirmed}, on disk ${numbers.at(-1)}`).to.be.within(confirmed + 1, confirmed + 2);
      expect(numbers, `round ${round}: records in order, none twice`).to.deep.equal(Array.from({ length: numbers.length }, (_, i) => i));
      next = numbers.length;
    }
    // the files as left by the last kill: whole lines once reopened
    for (const name of fs.readdirSync(logDir)) cutToWholeLines(path.join(logDir, name));
    for (const name of fs.readdirSync(logDir)) {
      const text = fs.readFileSync(path.join(logDir, name), 'utf8');
      expect(text === '' || text.endsWith('\n'), `${name} ends with a whole line`).to.equal(true);
      for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line.slice(0, 60)).to.not.throw();
    }
  });
});
