import { expect } from 'chai';
import { createEncoder } from '../../../../../firmware/audio/codecs/index.ts';
import { OnDemandEncoders } from '../../../../../firmware/audio/codecs/on-demand-encoders.ts';
import { FifoRing, type Chunk } from '../../../../../firmware/audio/fifo.ts';
import type { ChunkEncoder } from '../../../../../firmware/audio/types.ts';
import { DEFAULT_FORMAT, framesPerChunk, type CodecName } from '../../../../../firmware/wire/format.ts';

const FPC = framesPerChunk(DEFAULT_FORMAT, 20);

function chunk(seq: number): Chunk {
  const pcm = new Int16Array(FPC * 2);
  for (let i = 0; i < FPC; i++) pcm[2 * i] = pcm[2 * i + 1] = Math.round(9000 * Math.sin((2 * Math.PI * 330 * (seq * FPC + i)) / 48000));
  return { seq, playAt: seq * 20_000, pcm, payloads: new Map() };
}

describe('OnDemandEncoders (encode only what someone listens to)', () => {
  let fifo: FifoRing;
  let made: Array<{ codec: CodecName; enc: ChunkEncoder; closed: boolean }>;
  let encoders: OnDemandEncoders;
  const push = (from: number, to: number) => {
    for (let s = from; s <= to; s++) {
      const c = chunk(s);
      fifo.push(c);
      encoders.push(c);
    }
  };

  beforeEach(() => {
    fifo = new FifoRing(50);
    made = [];
    encoders = new OnDemandEncoders(fifo, ['opus', 'pcm'], (codec) => {
      const enc = createEncoder(codec, DEFAULT_FORMAT);
      const rec = { codec, enc, closed: false };
      made.push(rec);
      return {
        ...enc,
        codec: enc.codec,
        format: enc.format,
        codecDelayFrames: enc.codecDelayFrames,
        encode: (p) => enc.encode(p),
        close: () => {
          rec.closed = true;
          enc.close();
        },
      };
    });
  });
  afterEach(() => encoders.close());

  it('checks each codec once at start (codec delay), then encodes nothing without listeners', () => {
    expect(made.map((m) => m.codec)).to.deep.equal(['opus', 'pcm']);
    expect(made.every((m) => m.closed)).to.equal(true);
    expect(encoders.codecDelayFrames('opus')).to.equal(312);
    expect(encoders.codecDelayFrames('pcm')).to.equal(0);
    push(0, 20);
    expect(fifo.get(20)!.payloads.size).to.equal(0);
    expect(encoders.active).to.deep.equal([]);
    expect(() => encoders.acquire('flac' as CodecName, 0)).to.throw(/not enabled/);
  });

  it('the first listener of a codec gets the backlog encoded at once, from its start chunk, and later chunks as they come', () => {
    push(0, 30);
    expect(encoders.acquire('opus', 12)).to.equal(12);
    const has = (s: number) => fifo.get(s)!.payloads.has('opus');
    expect(has(11)).to.equal(false);
    expect([12, 20, 30].every(has)).to.equal(true);
    expect(fifo.get(30)!.payloads.has('pcm'), 'nobody listens in PCM').to.equal(false);
    push(31, 33);
    expect(has(33)).to.equal(true);
    expect(encoders.encodedChunks('opus')).to.equal(22);
  });

  it("a run is one encoder: its packets are those of one encoder fed from the run's first chunk, and a later joiner shares them", () => {
    push(0, 30);
    encoders.acquire('opus', 10);
    push(31, 40);
    // a second listener asking for earlier chunks than the run holds starts at the run's first
    expect(encoders.acquire('opus', 5)).to.equal(10);
    expect(encoders.acquire('opus', 35)).to.equal(35);
    const reference = createEncoder('opus', DEFAULT_FORMAT);
    for (let s = 10; s <= 40; s++) {
      expect(Buffer.from(fifo.get(s)!.payloads.get('opus')!).equals(Buffer.from(reference.encode(fifo.get(s)!.pcm))), `packet ${s}`).to.equal(true);
    }
    reference.close();
    expect(made.filter((m) => m.codec === 'opus' && !m.closed)).to.have.length(1);
  });

  it('when the last listener of a codec leaves its encoder closes; a new first listener starts a fresh run', () => {
    push(0, 10);
    encoders.acquire('pcm', 5);
    encoders.acquire('pcm', 8);
    encoders.release('pcm');
    push(11, 12);
    expect(fifo.get(12)!.payloads.has('pcm'), 'one listener left').to.equal(true);
    encoders.release('pcm');
    encoders.release('pcm'); // one release too many is harmless
    expect(encoders.active).to.deep.equal([]);
    expect(made.filter((m) => m.codec === 'pcm').every((m) => m.closed)).to.equal(true);
    push(13, 20);
    expect(fifo.get(20)!.payloads.has('pcm')).to.equal(false);
    expect(encoders.acquire('pcm', 18)).to.equal(18);
    expect(fifo.get(20)!.payloads.has('pcm')).to.equal(true);
    expect(fifo.get(17)!.payloads.has('pcm')).to.equal(false);
  });

  it('a start chunk the FIFO no longer holds starts the run at its oldest chunk', () => {
    push(0, 79); // capacity 50: 30..79 held
    expect(encoders.acquire('pcm', 3)).to.equal(30);
    expect(fifo.get(30)!.payloads.has('pcm')).to.equal(true);
  });

  it('encodes a whole 5 s backlog (250 chunks) at once in bounded time (test/bench/join.ts times real joins)', () => {
    fifo = new FifoRing(250);
    encoders.close();
    encoders = new OnDemandEncoders(fifo, ['opus'], (codec) => createEncoder(codec, DEFAULT_FORMAT));
    push(0, 249);
    const t0 = performance.now();
    encoders.acquire('opus', 0);
    const ms = performance.now() - t0;
    expect(fifo.get(249)!.payloads.has('opus')).to.equal(true);
    // a join encodes only the FIFO's future part (latency, 400 ms = 20 chunks); even all 250 chunks stay within budget natively
    expect(ms, `250 chunks encoded in ${ms.toFixed(1)} ms`).to.be.below(1500);
  });
});
