import { expect } from 'chai';
import { decodeBody, encodeFrame, FrameDecoder, FrameError, FrameType, MAX_FRAME_BYTES, PROTOCOL_VERSION, type Frame } from '../../../../firmware/wire/frames.ts';

const samples: Frame[] = [
  { type: FrameType.Hello, version: PROTOCOL_VERSION, token: 'abc', name: 'Bob' },
  { type: FrameType.CodecHeader, version: 1, codec: 'opus', sampleRate: 48000, channels: 2, bitsPerSample: 16, chunkMs: 20, codecDelayFrames: 312, latencyMs: 400 },
  { type: FrameType.Audio, seq: 4294967295, playAt: 1234567890123, gap: true, payload: new Uint8Array([1, 2, 3]) },
  { type: FrameType.TimeRequest, t1: 42 },
  { type: FrameType.TimeReply, t1: 1, t2: -2, t3: 3 },
  { type: FrameType.Settings, latencyMs: 100, volume: 50, muted: false },
  { type: FrameType.Error, code: 2, reason: 'bad token ✗' },
  { type: FrameType.Keepalive },
  { type: FrameType.Report, syncErrorUs: -12.5, bufferMs: 380, underruns: 2 },
];

/** deterministic PRNG so a failing fuzz case can be replayed */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

describe('wire frames', () => {
  it('every frame type survives an encode/decode round trip', () => {
    for (const f of samples) {
      const [back] = new FrameDecoder().push(encodeFrame(f));
      expect(back).to.deep.equal(f);
    }
  });

  it('reassembles frames split at every byte boundary and several frames per read', () => {
    const all = Uint8Array.from(samples.flatMap((f) => [...encodeFrame(f)]));
    for (const step of [1, 3, 7, 64]) {
      const d = new FrameDecoder();
      const out: Frame[] = [];
      for (let i = 0; i < all.length; i += step) out.push(...d.push(all.subarray(i, i + step)));
      expect(out).to.deep.equal(samples);
      expect(d.buffered).to.equal(0);
    }
  });

  it('refuses a length beyond the limit before buffering it', () => {
    const bad = new Uint8Array([0xff, 0xff, 0xff, 0xff, 3]);
    expect(() => new FrameDecoder().push(bad)).to.throw(FrameError, `outside 1..${MAX_FRAME_BYTES}`);
  });

  it('names the problem in truncated or malformed bodies', () => {
    expect(() => decodeBody(FrameType.Audio, new Uint8Array(5))).to.throw(FrameError, 'audio frame: 5 bytes, needs 13');
    expect(() => decodeBody(FrameType.Hello, new TextEncoder().encode('{"version":1}'))).to.throw(FrameError, "'token'");
    expect(() => decodeBody(FrameType.CodecHeader, new TextEncoder().encode('{"codec":"mp3"}'))).to.throw(FrameError, 'unknown codec "mp3"');
    expect(() => decodeBody(99, new Uint8Array())).to.throw(FrameError, 'unknown frame type 99');
  });

  it('fuzz: random and mutated input only ever raises FrameError', () => {
    const rand = rng(7);
    const valid = samples.map(encodeFrame);
    let errors = 0,
      frames = 0;
    for (let i = 0; i < 5000; i++) {
      let bytes: Uint8Array;
      if (i % 2) {
        bytes = new Uint8Array(Math.floor(rand() * 64)).map(() => Math.floor(rand() * 256));
      } else {
        bytes = valid[i % valid.length]!.slice(); // i % length indexes the array
        for (let k = 0; k < 3; k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      }
      try {
        frames += new FrameDecoder().push(bytes).length;
      } catch (e) {
        expect(e).to.be.instanceOf(FrameError);
        errors++;
      }
    }
    expect(errors).to.be.greaterThan(100);
    expect(frames).to.be.greaterThan(100);
  });

  it('a decoder that failed stays failed (the stream is out of step)', () => {
    const d = new FrameDecoder();
    expect(() => d.push(new Uint8Array([0, 0, 0, 1, 77]))).to.throw(FrameError);
    expect(() => d.push(encodeFrame({ type: FrameType.Keepalive }))).to.throw(FrameError, 'already failed');
  });
});
