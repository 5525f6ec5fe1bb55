import { expect } from 'chai';
import { createDecoder, createEncoder } from '../../../../../firmware/audio/codecs/index.ts';
import { DEFAULT_FORMAT, framesPerChunk } from '../../../../../firmware/wire/format.ts';
import { itemAt } from '../../../../../firmware/util/checked-index.ts';

const FPC = framesPerChunk(DEFAULT_FORMAT, 20);

function tone(hz: number, frames: number, amp = 12000): Int16Array {
  const out = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / 48000));
    out[2 * i] = v;
    out[2 * i + 1] = v;
  }
  return out;
}

describe('codecs', () => {
  describe('pcm', () => {
    it('round-trips samples exactly, little-endian on the wire', () => {
      const enc = createEncoder('pcm', DEFAULT_FORMAT);
      const dec = createDecoder('pcm', DEFAULT_FORMAT);
      const pcm = tone(997, FPC, 32767);
      pcm[0] = -32768;
      pcm[1] = 0x0102;
      const bytes = enc.encode(pcm);
      expect(bytes.length).to.equal(FPC * 4);
      expect([bytes[0], bytes[1], bytes[2], bytes[3]]).to.deep.equal([0x00, 0x80, 0x02, 0x01]);
      expect(Array.from(dec.decode(bytes))).to.deep.equal(Array.from(pcm));
    });

    it('decodes a payload that sits at an odd offset inside a larger buffer', () => {
      const pcm = tone(440, FPC);
      const bytes = createEncoder('pcm', DEFAULT_FORMAT).encode(pcm);
      const framed = new Uint8Array(bytes.length + 13);
      framed.set(bytes, 13);
      expect(Array.from(createDecoder('pcm', DEFAULT_FORMAT).decode(framed.subarray(13)))).to.deep.equal(Array.from(pcm));
    });

    it('rejects a chunk of the wrong size and a payload of partial frames', () => {
      expect(() => createEncoder('pcm', DEFAULT_FORMAT).encode(new Int16Array(100))).to.throw(/100 samples, expected 1920/);
      expect(() => createDecoder('pcm', DEFAULT_FORMAT).decode(new Uint8Array(6))).to.throw(/not a whole number of 4-byte frames/);
    });

    it('conceals with silence', () => {
      const c = createDecoder('pcm', DEFAULT_FORMAT).conceal(FPC);
      expect(c.length).to.equal(FPC * 2);
      expect(c.every((s) => s === 0)).to.equal(true);
    });
  });

  describe('opus', () => {
    it('reports the encoder look-ahead as its codec delay', () => {
      const enc = createEncoder('opus', DEFAULT_FORMAT);
      expect(enc.codecDelayFrames).to.equal(312);
      enc.close();
    });

    it('round-trips a 1 kHz tone: correlation ≥ 0.99 over 1 s after the codec delay', () => {
      const enc = createEncoder('opus', DEFAULT_FORMAT);
      const dec = createDecoder('opus', DEFAULT_FORMAT);
      const chunks = 55;
      const input = tone(1000, FPC * chunks);
      const output = new Int16Array(input.length);
      for (let c = 0; c < chunks; c++) {
        const payload = enc.encode(input.subarray(c * FPC * 2, (c + 1) * FPC * 2));
        expect(payload).to.be.instanceOf(Uint8Array);
        expect(payload.length).to.be.within(100, 1000); // ~128 kb/s → ~320 bytes per 20 ms
        const pcm = dec.decode(payload);
        expect(pcm.length).to.equal(FPC * 2);
        output.set(pcm, c * FPC * 2);
      }
      const d = enc.codecDelayFrames;
      let xy = 0,
        xx = 0,
        yy = 0;
      for (let i = 2400; i < 2400 + 48000; i++) {
        // skip the encoder's warm-up
        for (let ch = 0; ch < 2; ch++) {
          const x = itemAt(input, 2 * i + ch, 'input');
          const y = itemAt(output, 2 * (i + d) + ch, 'decoded output');
          xy += x * y;
          xx += x * x;
          yy += y * y;
        }
      }
      expect(xy / Math.sqrt(xx * yy)).to.be.at.least(0.99);
      enc.close();
      dec.close();
    });

    it('rejects a chunk that is not one 20 ms frame, an unsupported format and an empty packet with clear errors', () => {
      const enc = createEncoder('opus', DEFAULT_FORMAT);
      expect(() => enc.encode(new Int16Array(FPC))).to.throw(/960 samples, expected 1920/);
      enc.close();
      expect(() => createEncoder('opus', DEFAULT_FORMAT, { chunkMs: 15 })).to.throw(/not an Opus frame size/);
      expect(() => createEncoder('opus', { sampleRate: 44100, channels: 2, bitsPerSample: 16 })).to.throw(/44100 Hz is not supported/);
      const dec = createDecoder('opus', DEFAULT_FORMAT);
      expect(() => dec.decode(new Uint8Array(0))).to.throw(/empty payload/);
      dec.close();
    });

    it('conceals a lost chunk by extrapolating the signal rather than with silence', () => {
      const enc = createEncoder('opus', DEFAULT_FORMAT);
      const dec = createDecoder('opus', DEFAULT_FORMAT);
      const input = tone(440, FPC * 10);
      for (let c = 0; c < 10; c++) dec.decode(enc.encode(input.subarray(c * FPC * 2, (c + 1) * FPC * 2)));
      const plc = dec.conceal(FPC);
      expect(plc.length).to.equal(FPC * 2);
      expect(plc.some((s) => Math.abs(s) > 100)).to.equal(true);
      enc.close();
      dec.close();
    });
  });

  it('the factory rejects an unknown codec', () => {
    expect(() => createEncoder('flac' as 'pcm', DEFAULT_FORMAT)).to.throw(/unknown codec 'flac'/);
  });
});
