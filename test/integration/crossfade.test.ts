// Crossfade and gapless on a real box, checked sample by sample on the stream every
// listener receives (a PCM probe on the stream port), against the files as ffmpeg decodes
// them: with `audio.crossfadeMs` the last frames of song A run under the first frames of
// song B, A fading out as B fades in; the next track of the same album follows A with
// not one sample of silence or overlap.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashPassword } from '../../firmware/config/password.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { probeStream, type StreamProbe } from '../helpers/stream-probe.ts';

const CHANNELS = 2;
const RATE = 48_000;

/** a rising tone on each channel: no stretch of it repeats, so a piece of it is found at one place only */
function chirp(file: string, hz: number, seconds: number, album: string): void {
  execFileSync('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=0.4*sin(2*PI*(${hz}+40*t)*t)|0.3*sin(2*PI*(${hz * 1.5}+25*t)*t):s=${RATE}:d=${seconds}`,
    '-metadata',
    `album=${album}`,
    '-metadata',
    `title=${path.basename(file)}`,
    file,
  ]);
}

/** the file as the box decodes it: s16 stereo 48 kHz */
function decode(file: string): Int16Array {
  const bytes = execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', file, '-f', 's16le', '-ac', '2', '-ar', String(RATE), '-'], { maxBuffer: 64 * 1024 * 1024 });
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/** the probe's chunks from the first one on, joined in sequence order (refusing a hole) */
function joined(probe: StreamProbe): Int16Array {
  const seqs = [...probe.chunks.keys()].sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1]! + 1) throw new Error(`the probe missed chunks ${seqs[i - 1]! + 1}..${seqs[i]! - 1}`);
  const out = new Int16Array(seqs.reduce((n, seq) => n + probe.chunks.get(seq)!.length, 0));
  let at = 0;
  for (const seq of seqs) {
    out.set(probe.chunks.get(seq)!, at);
    at += probe.chunks.get(seq)!.length;
  }
  return out;
}

/** where `needle` first occurs in `hay` (sample-exact), from `from`; -1: nowhere */
function find(hay: Int16Array, needle: Int16Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i += CHANNELS) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

function same(a: Int16Array, b: Int16Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('crossfade and album gapless (real box, stream samples)', function () {
  this.timeout(120_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let probe: StreamProbe | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-crossfade-'));
  });
  afterEach(async () => {
    await probe?.close();
    if (box) await box.stop();
    probe = null;
    box = null;
    rmSync(dir, { recursive: true, force: true });
  });

  /** a box playing `files` in this order, over and over (a sequential programme), with `crossfadeMs` */
  async function play(files: string[], crossfadeMs: number, id: string): Promise<void> {
    const config = path.join(dir, 'box.yaml');
    writeFileSync(
      config,
      ['programme:', '  playlists:', `    - { id: all, items: [{ files: [${files.map((f) => JSON.stringify(f)).join(', ')}] }], order: sequential }`, ''].join('\n'),
    );
    box = await startBox(
      ['--config', config, '--box-id', id, '--music', path.join(dir, 'music'), '--audio-device', 'none', '--policy', 'open', '--state-dir', path.join(dir, 'state')],
      {
        NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
        NEARCAST_LOUDNESS__ENABLED: 'false',
        NEARCAST_AUDIO__CROSSFADEMS: String(crossfadeMs),
      },
    );
    probe = await probeStream(box.ports.mqtt);
  }

  it('with crossfadeMs 1000 the last second of song A runs under the first of song B, A fading out as B fades in', async () => {
    const music = path.join(dir, 'music');
    mkdirSync(path.join(music, 'a'), { recursive: true });
    mkdirSync(path.join(music, 'b'), { recursive: true });
    chirp(path.join(music, 'a', 'a.flac'), 300, 4, 'Album A');
    chirp(path.join(music, 'b', 'b.flac'), 500, 4, 'Album B');
    const [a, b] = [decode(path.join(music, 'a', 'a.flac')), decode(path.join(music, 'b', 'b.flac'))];
    await play([path.join(music, 'a', 'a.flac'), path.join(music, 'b', 'b.flac')], 1000, 'xf');
    // A's second half-second: the probe joined while A or B played; a whole cycle of both is 6 s
    const marker = a.subarray(RATE * CHANNELS, RATE * CHANNELS + 960 * CHANNELS);
    await waitFor(
      'A heard from its second second on, then B',
      () => probe!.chunks.size >= 500 && find(joined(probe!), marker) >= 0 && joined(probe!).length - find(joined(probe!), marker) > (a.length + b.length) * 0.8,
      40_000,
      250,
    );
    const stream = joined(probe!);
    const aStart = find(stream, marker) - RATE * CHANNELS; // where A's first sample is (or would be, had the probe been there)
    const aEnd = aStart + a.length;
    // B plays plainly once the overlap is over: find how long the overlap was from where B's samples run exact
    let overlap = -1;
    for (let frames = RATE; frames >= RATE - 2000 && overlap < 0; frames--) {
      if (same(stream.subarray(aEnd, aEnd + 4800 * CHANNELS), b.subarray(frames * CHANNELS, frames * CHANNELS + 4800 * CHANNELS))) overlap = frames;
    }
    expect(overlap, 'B runs sample-exact after an overlap of 1 s less at most one chunk').to.be.within(RATE - 960, RATE);
    const fadeFrom = aEnd - overlap * CHANNELS;
    expect(
      same(stream.subarray(Math.max(0, aStart + RATE * CHANNELS), fadeFrom), a.subarray(RATE * CHANNELS, a.length - overlap * CHANNELS)),
      'A plays sample-exact up to the crossfade',
    ).to.equal(true);
    let worst = 0;
    for (let frame = 0; frame < overlap; frame++) {
      const into = frame / overlap;
      for (let c = 0; c < CHANNELS; c++) {
        const expected = b[frame * CHANNELS + c]! * into + a[a.length - overlap * CHANNELS + frame * CHANNELS + c]! * (1 - into);
        worst = Math.max(worst, Math.abs(stream[fadeFrom + frame * CHANNELS + c]! - expected));
      }
    }
    expect(worst, `the overlap is A fading out plus B fading in, sample by sample (worst error ${worst} LSB)`).to.be.at.most(1);
  });

  it('the next track of the same album follows gapless: its first sample right after the last of the one before', async () => {
    const album = path.join(dir, 'music', 'live-album');
    mkdirSync(album, { recursive: true });
    chirp(path.join(album, '01 opening.flac'), 300, 3, 'Live');
    chirp(path.join(album, '02 encore.flac'), 500, 3, 'Live');
    const [one, two] = [decode(path.join(album, '01 opening.flac')), decode(path.join(album, '02 encore.flac'))];
    await play([path.join(album, '01 opening.flac'), path.join(album, '02 encore.flac')], 1000, 'gl');
    const marker = one.subarray(RATE * CHANNELS, RATE * CHANNELS + 960 * CHANNELS);
    await waitFor(
      'track 1 from its second second on, then track 2',
      () => find(joined(probe!), marker) >= 0 && joined(probe!).length - find(joined(probe!), marker) > one.length + two.length,
      40_000,
      250,
    );
    const stream = joined(probe!);
    const start = find(stream, marker);
    // track 1 from its second second on, then track 2 up to its last second (where it fades into track 1 again: not the same album's next)
    const expected = new Int16Array(one.length - RATE * CHANNELS + two.length - RATE * CHANNELS);
    expected.set(one.subarray(RATE * CHANNELS));
    expected.set(two.subarray(0, two.length - RATE * CHANNELS), one.length - RATE * CHANNELS);
    const got = stream.subarray(start, start + expected.length);
    const firstDiff = got.findIndex((v, i) => v !== expected[i]);
    expect(firstDiff, `track 2 follows track 1 sample for sample (first difference at frame ${firstDiff / CHANNELS} of ${expected.length / CHANNELS})`).to.equal(-1);
  });
});
