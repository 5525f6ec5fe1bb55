// Native Opus (the system libopus through koffi) against ffmpeg's libopus wrapper,
// which links the same system library: with the same library and the same settings
// the encoder is deterministic, so every packet must be byte-identical, and decoding
// those packets must give the same samples. This is what makes the box's stream a
// standard Opus stream and pins the settings (bitrate, constrained VBR, 20 ms, the
// AUDIO application) to what they claim to be.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDecoder, createEncoder, describeOpus, opusImplementation, setOpusPreference } from '../../../../../firmware/audio/codecs/index.ts';
import { loadLibopus } from '../../../../../firmware/audio/codecs/opus-libopus.ts';
import { DEFAULT_FORMAT, framesPerChunk } from '../../../../../firmware/wire/format.ts';
import { itemAt } from '../../../../../firmware/util/checked-index.ts';

const FPC = framesPerChunk(DEFAULT_FORMAT, 20);
const CHUNKS = 100; // 2 s
const ENCODE_ARGS = ['-c:a', 'libopus', '-b:a', '128k', '-vbr', 'constrained', '-frame_duration', '20', '-application', 'audio'];

/** 2 s of music-like stereo: two partials, one amplitude-modulated, plus seeded noise, channels differing */
function musicLike(): Int16Array {
  const frames = FPC * CHUNKS;
  const pcm = new Int16Array(frames * 2);
  let seed = 1;
  const noise = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  for (let i = 0; i < frames; i++) {
    const t = i / 48000;
    const v = 6000 * Math.sin(2 * Math.PI * 220 * t) + 3000 * Math.sin(2 * Math.PI * 1375 * t) * Math.sin(3 * t) + 1500 * noise();
    pcm[2 * i] = Math.round(v);
    pcm[2 * i + 1] = Math.round(0.7 * v + 800 * noise());
  }
  return pcm;
}

function ffmpeg(args: string[]): Buffer {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', ...args], { maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

describe('Opus through the system libopus', () => {
  let dir: string;
  let raw: string;
  const input = musicLike();

  before(function () {
    if (!loadLibopus()) this.skip(); // the WebAssembly fallback is tested below and in index.test.ts
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-opus-'));
    raw = path.join(dir, 'in.raw');
    writeFileSync(raw, new Uint8Array(input.buffer));
  });
  after(() => {
    setOpusPreference('auto');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is the implementation chosen when the library is installed, and says so', () => {
    setOpusPreference('auto');
    const impl = opusImplementation();
    expect(impl.kind).to.equal('libopus');
    expect(impl.version).to.match(/^libopus \d+\.\d+/);
    expect(describeOpus()).to.equal(`native ${impl.version}`);
  });

  it("encodes every packet byte-identical to ffmpeg's libopus encoder with the same settings", () => {
    setOpusPreference('auto');
    // framemd5: one line per packet: stream, dts, pts, duration, size, md5
    const lines = ffmpeg(['-f', 's16le', '-ar', '48000', '-ac', '2', '-i', raw, ...ENCODE_ARGS, '-f', 'framemd5', '-'])
      .toString()
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => l.split(',').map((f) => f.trim()));
    expect(lines.length, 'ffmpeg packets').to.be.at.least(CHUNKS); // plus the padded tail packet
    const enc = createEncoder('opus', DEFAULT_FORMAT, { bitrate: 128_000 });
    const mismatches: string[] = [];
    for (let k = 0; k < CHUNKS; k++) {
      const packet = enc.encode(input.subarray(k * FPC * 2, (k + 1) * FPC * 2));
      const md5 = createHash('md5').update(packet).digest('hex');
      const [, , , , size, ffmpegMd5] = itemAt(lines, k, 'ffmpeg packets');
      if (Number(size) !== packet.length || ffmpegMd5 !== md5) mismatches.push(`#${k}: ours ${packet.length} B ${md5}, ffmpeg ${size} B ${ffmpegMd5}`);
    }
    enc.close();
    expect(mismatches, `${mismatches.length} of ${CHUNKS} packets differ:\n${mismatches.slice(0, 5).join('\n')}`).to.deep.equal([]);
  });

  it("decodes those packets to exactly the samples ffmpeg's libopus decoder gives", () => {
    setOpusPreference('auto');
    const ogg = path.join(dir, 'ffmpeg.ogg');
    ffmpeg(['-y', '-f', 's16le', '-ar', '48000', '-ac', '2', '-i', raw, ...ENCODE_ARGS, ogg]);
    const theirs = ffmpeg(['-c:a', 'libopus', '-i', ogg, '-f', 's16le', '-']);
    const reference = new Int16Array(theirs.buffer, theirs.byteOffset, theirs.byteLength / 2);
    const enc = createEncoder('opus', DEFAULT_FORMAT, { bitrate: 128_000 });
    const dec = createDecoder('opus', DEFAULT_FORMAT);
    const ours = new Int16Array(input.length);
    for (let k = 0; k < CHUNKS; k++) ours.set(dec.decode(enc.encode(input.subarray(k * FPC * 2, (k + 1) * FPC * 2))), k * FPC * 2);
    // ffmpeg drops the pre-skip (the encoder look-ahead) from its output; so do we
    const skip = enc.codecDelayFrames * 2;
    const n = ours.length - skip;
    expect(reference.length, 'ffmpeg decoded samples').to.be.at.least(n);
    let differ = 0;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (ours[skip + i] !== reference[i]) {
        differ++;
        if (first < 0) first = i;
      }
    }
    enc.close();
    dec.close();
    expect(differ, `${differ} of ${n} samples differ, first at ${first}`).to.equal(0);
  });

  it('reads the look-ahead from the encoder (OPUS_GET_LOOKAHEAD) instead of assuming it', () => {
    const enc = createEncoder('opus', DEFAULT_FORMAT);
    expect(enc.codecDelayFrames).to.equal(312);
    enc.close();
    const enc24 = createEncoder('opus', { ...DEFAULT_FORMAT, sampleRate: 24000 });
    expect(enc24.codecDelayFrames).to.equal(156);
    enc24.close();
  });

  it('conceals a lost packet with 60 ms of extrapolated signal, like the WebAssembly build', () => {
    const enc = createEncoder('opus', DEFAULT_FORMAT);
    const dec = createDecoder('opus', DEFAULT_FORMAT);
    for (let k = 0; k < 20; k++) dec.decode(enc.encode(input.subarray(k * FPC * 2, (k + 1) * FPC * 2)));
    const plc = dec.conceal(FPC);
    expect(plc.length).to.equal(FPC * 2);
    expect(
      plc.some((s) => Math.abs(s) > 100),
      'concealment is not silence',
    ).to.equal(true);
    enc.close();
    dec.close();
    expect(() => dec.decode(new Uint8Array([1, 2]))).to.throw(/closed/);
  });

  it("packets from native libopus play through the WebAssembly decoder (the web page's) with correlation ≥ 0.99", () => {
    setOpusPreference('auto');
    const enc = createEncoder('opus', DEFAULT_FORMAT);
    setOpusPreference('wasm');
    const dec = createDecoder('opus', DEFAULT_FORMAT);
    setOpusPreference('auto');
    const out = new Int16Array(input.length);
    for (let k = 0; k < CHUNKS; k++) out.set(dec.decode(enc.encode(input.subarray(k * FPC * 2, (k + 1) * FPC * 2))), k * FPC * 2);
    let xy = 0,
      xx = 0,
      yy = 0;
    for (let i = 4800; i < input.length / 2 - 400; i++) {
      const x = itemAt(input, 2 * i, 'input');
      const y = itemAt(out, 2 * (i + 312), 'decoded output');
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    enc.close();
    dec.close();
    expect(xy / Math.sqrt(xx * yy)).to.be.at.least(0.99);
  });
});

describe('Opus fallback to WebAssembly', () => {
  after(() => setOpusPreference('auto'));

  it('a library that does not load is reported with the reason, not thrown', () => {
    expect(loadLibopus('libopus-absent.so.9')).to.equal(null);
  });

  it('runs the WebAssembly build when asked (as when libopus is missing) and says why', () => {
    setOpusPreference('wasm');
    expect(opusImplementation().kind).to.equal('wasm');
    expect(describeOpus()).to.match(/WebAssembly/);
    const enc = createEncoder('opus', DEFAULT_FORMAT);
    const dec = createDecoder('opus', DEFAULT_FORMAT);
    const pcm = dec.decode(enc.encode(musicLike().subarray(0, FPC * 2)));
    expect(pcm.length).to.equal(FPC * 2);
    expect(enc.codecDelayFrames).to.equal(312);
    enc.close();
    dec.close();
  });

  it('an unknown preference is refused', () => {
    expect(() => setOpusPreference('fast' as never)).to.throw(/auto, libopus or wasm/);
  });
});
