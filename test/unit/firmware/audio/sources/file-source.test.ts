import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../../../../../firmware/audio/sources/file-source.ts';

async function drain(src: FileSource, maxMs = 10_000): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  const deadline = Date.now() + maxMs;
  while (!src.ended && !src.error && Date.now() < deadline) {
    await src.ready(4800, 1000);
    parts.push(src.read(4800));
  }
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

describe('FileSource', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nearcast-file-'));
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=440:d=1', '-ac', '2', '-ar', '48000', join(dir, 'x.flac')]);
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=220:d=20', '-ac', '2', '-ar', '48000', join(dir, 'long.flac')]);
    writeFileSync(join(dir, 'corrupt.mp3'), Buffer.from('this is not audio at all'.repeat(100)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes a file sample-identically to ffmpeg run directly, then ends', async () => {
    const expected = execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', join(dir, 'x.flac'), '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', '2', '-ar', '48000', '-']);
    const src = new FileSource(join(dir, 'x.flac'));
    const got = await drain(src);
    expect(src.error).to.equal(null);
    expect(src.ended).to.equal(true);
    expect(got.length).to.equal(48000 * 2);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(expected)).to.equal(true);
    expect(src.read(100).length).to.equal(0);
    src.close();
  });

  it('returns only whole frames, never more than asked', async () => {
    const src = new FileSource(join(dir, 'x.flac'));
    await src.ready(1000);
    const r = src.read(333);
    expect(r.length).to.equal(666);
    src.close();
  });

  it('starts at an offset with startMs', async () => {
    const src = new FileSource(join(dir, 'x.flac'), { startMs: 500 });
    const got = await drain(src);
    expect(got.length / 2).to.be.within(23_000, 25_000);
    src.close();
  });

  it('keeps only ~3 s buffered ahead of the reader (backpressure on ffmpeg)', async () => {
    const src = new FileSource(join(dir, 'long.flac'));
    await src.ready(48000 * 3);
    await new Promise((r) => setTimeout(r, 300));
    // 3 s plus at most one pipe read of slack
    expect(src.bufferedFrames).to.be.within(48000 * 3, 48000 * 3 + 65536);
    expect(src.remainingFrames()).to.equal(null); // still decoding
    src.read(48000 * 2);
    await src.ready(48000 * 3);
    expect(src.bufferedFrames).to.be.at.least(48000 * 3);
    src.close();
  });

  it("a corrupt file sets error with ffmpeg's message instead of throwing", async () => {
    const src = new FileSource(join(dir, 'corrupt.mp3'));
    await src.ready(48000, 5000);
    expect(src.error).to.be.instanceOf(Error);
    expect(src.error!.message).to.match(/ffmpeg could not decode .*corrupt\.mp3 \(exit \d+\): \S/);
    expect(src.read(100).length).to.equal(0);
    src.close();
  });

  it('a missing file and a missing ffmpeg binary set error too', async () => {
    const missing = new FileSource(join(dir, 'nope.flac'));
    await missing.ready(1);
    expect(missing.error!.message).to.match(/nope\.flac.*No such file/);
    const noFfmpeg = new FileSource(join(dir, 'x.flac'), { ffmpegPath: join(dir, 'no-ffmpeg') });
    await noFfmpeg.ready(1);
    expect(noFfmpeg.error!.message).to.match(/cannot run ffmpeg/);
  });

  it('treats a name that looks like an option as a file', async () => {
    const src = new FileSource('-version');
    await src.ready(1);
    expect(src.error!.message).to.match(/-version/);
  });
});
