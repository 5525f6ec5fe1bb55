import { expect } from 'chai';
import { OpusCodec } from '../../../../../firmware/audio/codecs/opus-native.ts';
import { itemAt } from '../../../../../firmware/util/checked-index.ts';

/** a chord whose loudness wanders: aperiodic enough that a wrong decode cannot correlate */
function music(frames: number, from: number): Int16Array {
  const x = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    const t = (from + i) / 48000;
    const v = 9000 * Math.sin(2 * Math.PI * 330 * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 0.7 * t)) + 5000 * Math.sin(2 * Math.PI * 495 * t + 2 * Math.sin(2 * Math.PI * 0.3 * t));
    x[2 * i] = v;
    x[2 * i + 1] = -v;
  }
  return x;
}

function corr(a: Int16Array, b: Int16Array): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!; // i < a.length
    const y = itemAt(b, i, 'second signal');
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('Opus WebAssembly binding', () => {
  it("several encoders and decoders in one process do not disturb each other (opusscript's own wrapper does)", () => {
    const encoders = [new OpusCodec(48000, 2), new OpusCodec(48000, 2)] as const;
    const decoders = [new OpusCodec(48000, 2), new OpusCodec(48000, 2), new OpusCodec(48000, 2)];
    encoders[0].setBitrate(128000);
    const src: Int16Array[] = [];
    const outs: Int16Array[][] = decoders.map(() => []);
    for (let n = 0; n < 100; n++) {
      const pcm = music(960, n * 960);
      src.push(pcm);
      const packet = encoders[0].encode(pcm, 960);
      encoders[1].encode(music(960, 7 + n * 960), 960); // a neighbour working at the same time
      decoders.forEach((d, k) => {
        outs[k]!.push(d.decode(packet)); // one list per decoder
      });
    }
    const delay = 312 * 2;
    const flat = (xs: Int16Array[]) => {
      const o = new Int16Array(xs.length * 1920);
      xs.forEach((x, i) => {
        o.set(x, i * 1920);
      });
      return o;
    };
    const s = flat(src);
    for (const out of outs.map(flat)) {
      expect(corr(s.subarray(48000, 48000 * 3), out.subarray(48000 + delay, 48000 * 3 + delay))).to.be.above(0.99);
    }
    for (const c of [...encoders, ...decoders]) c.close();
  });

  it('conceals a lost packet and refuses use after close', () => {
    const e = new OpusCodec(48000, 2);
    const d = new OpusCodec(48000, 2);
    d.decode(e.encode(music(960, 0), 960));
    expect(d.decode(new Uint8Array(0)).length).to.be.greaterThan(0);
    d.close();
    expect(() => d.decode(new Uint8Array([1]))).to.throw('closed');
    expect(() => e.encode(new Int16Array(10), 960)).to.throw('not 960 frames');
    e.close();
  });
});
