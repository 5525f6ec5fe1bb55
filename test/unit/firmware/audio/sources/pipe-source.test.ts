import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PipeSource } from '../../../../../firmware/audio/sources/pipe-source.ts';

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

function frames(start: number, n: number): Buffer {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    b.writeInt16LE((start + i) % 32768, i * 4);
    b.writeInt16LE(-((start + i) % 32768), i * 4 + 2);
  }
  return b;
}

function writeToFifo(path: string, data: Buffer): void {
  const fd = openSync(path, 'w'); // the source holds a read end, so this does not block
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

describe('PipeSource', () => {
  let dir: string;
  const open: PipeSource[] = [];
  const make = (path: string, opts = {}) => {
    const s = new PipeSource(path, opts);
    open.push(s);
    return s;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nearcast-pipe-'));
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the FIFO when missing and reads what a writer puts in it', async () => {
    const path = join(dir, 'snapfifo');
    const src = make(path);
    await src.opened;
    expect(src.error).to.equal(null);
    expect(statSync(path).isFIFO()).to.equal(true);
    writeToFifo(path, frames(0, 480));
    await tick();
    const got = src.read(1000);
    expect(got.length).to.equal(960);
    expect([got[0], got[1], got[2], got[3], got[958]]).to.deep.equal([0, 0, 1, -1, 479]);
  });

  it('a writer closing and coming back does not end it', async () => {
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    const src = make(path);
    await src.opened;
    writeToFifo(path, frames(0, 100));
    await tick();
    expect(src.read(100).length).to.equal(200);
    await tick();
    expect(src.ended).to.equal(false);
    expect(src.read(100).length).to.equal(0); // nothing yet: the engine fills silence
    writeToFifo(path, frames(100, 100));
    await tick();
    const again = src.read(100);
    expect(again.length).to.equal(200);
    expect(again[0]).to.equal(100);
    expect(src.error).to.equal(null);
  });

  it('with a reserve, hands out audio only once the reserve is in beyond the read, absorbs a late writer, and primes again after running dry', async () => {
    const path = join(dir, 'fifo');
    const src = make(path, { reserveMs: 20 }); // 960 frames
    await src.opened;
    writeToFifo(path, frames(0, 1200));
    await tick();
    expect(src.read(480).length, '1200 frames in, 480 + 960 needed').to.equal(0);
    writeToFifo(path, frames(1200, 300));
    await tick();
    const first = src.read(480);
    expect(first.length).to.equal(960);
    expect(first[0]).to.equal(0);
    // the writer is late: the reserve plays on
    expect(src.read(480).length).to.equal(960);
    expect(src.read(480).length).to.equal(960);
    // 60 frames left: handed out, and the source primes again
    expect(src.read(480).length).to.equal(120);
    writeToFifo(path, frames(1500, 600));
    await tick();
    expect(src.read(480).length, '600 frames in: priming again').to.equal(0);
    expect(() => new PipeSource(join(dir, 'other'), { reserveMs: 600 })).to.throw(/reserveMs must be 0…500 \(half the buffer\), got 600/);
  });

  it('keeps at most ~1 s buffered, dropping the oldest audio and counting it', async () => {
    const path = join(dir, 'fifo');
    const src = make(path, { maxBufferMs: 100 }); // 4800 frames
    await src.opened;
    for (let k = 0; k < 10; k++) {
      writeToFifo(path, frames(k * 1000, 1000));
      await tick(5);
    }
    await tick();
    expect(src.bufferedFrames).to.be.at.most(4800);
    expect(src.overflows).to.be.at.least(1);
    expect(src.droppedFrames).to.equal(10_000 - src.bufferedFrames);
    const got = src.read(10_000);
    expect(got[got.length - 2]).to.equal(9999); // the newest audio survives, frames stay aligned
    expect(got[got.length - 1]).to.equal(-9999);
  });

  it('a path that exists but is not a FIFO is a clear error', async () => {
    const path = join(dir, 'plain');
    writeFileSync(path, 'x');
    const src = make(path);
    await src.opened;
    expect(src.error!.message).to.match(/plain exists but is not a named pipe/);
    expect(src.read(10).length).to.equal(0);
    expect(readFileSync(path, 'utf8')).to.equal('x');
  });

  it('idle pipes do not occupy the libuv threadpool', async () => {
    for (let i = 0; i < 6; i++) await make(join(dir, `f${i}`)).opened;
    // with 4 pool threads, blocked reads on 6 pipes would starve this file read
    const text = await Promise.race([readFile(fileURLToPath(import.meta.url), 'utf8'), tick(3000).then(() => 'starved')]);
    expect(text).to.not.equal('starved');
  });
});
