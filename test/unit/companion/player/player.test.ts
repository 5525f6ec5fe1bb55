import { expect } from 'chai';
import sinon from 'sinon';
import { Player, decodedPlayAtUs } from '../../../../companion/player/player.ts';
import { ClockSync } from '../../../../firmware/wire/clock.ts';
import { FrameType, type AudioFrame, type CodecHeaderFrame } from '../../../../firmware/wire/frames.ts';
import type { ChunkDecoder } from '../../../../firmware/audio/types.ts';
import { FakeSink } from '../../../helpers/fake-sink.ts';

const RATE = 48000;
const FORMAT = { sampleRate: RATE, channels: 1, bitsPerSample: 16 as const };
const BLOCK = 960;
const FRAME_US = 1e6 / RATE;
const SERVER_AHEAD = 5_000_000; // server clock = local + 5 s
const CONCEALED = 7;

/** Trivial decoder for the test: payload = s16le samples; concealment = a constant. */
class TestDecoder implements ChunkDecoder {
  readonly codec = 'pcm' as const;
  closed = false;
  decode(payload: Uint8Array): Int16Array {
    if (payload.length % 2) throw new Error('odd payload');
    const v = new DataView(payload.buffer, payload.byteOffset, payload.length);
    return Int16Array.from({ length: payload.length / 2 }, (_, i) => v.getInt16(2 * i, true));
  }
  conceal(frames: number): Int16Array {
    return new Int16Array(frames).fill(CONCEALED);
  }
  close(): void {
    this.closed = true;
  }
}

function header(codecDelayFrames = 0): CodecHeaderFrame {
  return { type: FrameType.CodecHeader, version: 1, codec: 'pcm', sampleRate: RATE, channels: 1, bitsPerSample: 16, chunkMs: 20, codecDelayFrames, latencyMs: 300 };
}

/** Chunk b: sample i is 100 + b (all of it), so the output shows which chunk played when. */
function audio(b: number, serverPlayAt: number, gap = false, seq = b): AudioFrame {
  const payload = new Uint8Array(BLOCK * 2);
  const v = new DataView(payload.buffer);
  for (let i = 0; i < BLOCK; i++) v.setInt16(2 * i, 100 + b, true);
  return { type: FrameType.Audio, seq, playAt: serverPlayAt, gap, payload };
}

describe('Player', () => {
  let clock: sinon.SinonFakeTimers;
  let now: () => number;
  let sink: FakeSink;
  let sync: ClockSync;
  let player: Player;
  let decoders: TestDecoder[];

  function syncClock(): void {
    // a whole connect burst: the player starts once the clock is synced
    for (let i = 0; i < 10; i++) {
      const t1 = now();
      sync.add({ t1, t2: t1 + SERVER_AHEAD + 100, t3: t1 + SERVER_AHEAD + 100, t4: t1 + 200 });
    }
  }
  /** Local time at which the first output sample with `value` left the DAC. */
  function firstOut(value: number): number {
    const out = sink.output();
    const i = out.indexOf(value);
    expect(i, `value ${value} never played`).to.be.at.least(0);
    return sink.outTimeUs(i);
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    now = () => clock.now * 1000;
    sink = new FakeSink({ format: FORMAT, now });
    sync = new ClockSync();
    decoders = [];
    player = new Player({
      sink,
      clockSync: sync,
      now,
      decoderFactory: () => {
        const d = new TestDecoder();
        decoders.push(d);
        return d;
      },
    });
  });
  afterEach(async () => {
    const done = player.stop();
    await clock.tickAsync(50);
    await done;
    clock.restore();
  });

  it('plays each chunk when the server clock says, mapped to the local clock', async () => {
    syncClock();
    await player.start();
    player.onCodecHeader(header());
    const t0 = now() + SERVER_AHEAD + 200_000;
    for (let b = 0; b < 10; b++) player.onAudio(audio(b, t0 + b * 20_000));
    await clock.tickAsync(600);
    expect(Math.abs(firstOut(100) - (t0 - SERVER_AHEAD))).to.be.at.most(FRAME_US);
    expect(Math.abs(firstOut(105) - (t0 - SERVER_AHEAD + 100_000))).to.be.at.most(FRAME_US);
    expect(player.stats()).to.include({ chunks: 10, codec: 'pcm', clockSynced: true, state: 'playing' });
  });

  it('compensates the codec delay: decoded output lagging by D frames plays D frames earlier', async () => {
    syncClock();
    await player.start();
    player.onCodecHeader(header(48));
    const t0 = now() + SERVER_AHEAD + 200_000;
    player.onAudio(audio(0, t0));
    await clock.tickAsync(400);
    expect(Math.abs(firstOut(100) - (t0 - SERVER_AHEAD - 1000))).to.be.at.most(FRAME_US);
    expect(decodedPlayAtUs(1_000_000, 312, 48000)).to.equal(1_000_000 - 6500);
  });

  it('conceals a short seq hole in place, ignores duplicates, and leaves a gap silent', async () => {
    syncClock();
    await player.start();
    player.onCodecHeader(header());
    const t0 = now() + SERVER_AHEAD + 200_000;
    player.onAudio(audio(0, t0));
    player.onAudio(audio(3, t0 + 60_000)); // 1 and 2 lost
    player.onAudio(audio(3, t0 + 60_000)); // duplicate
    player.onAudio(audio(8, t0 + 160_000, true)); // server skipped 4..7
    await clock.tickAsync(600);
    expect(Math.abs(firstOut(CONCEALED) - (t0 - SERVER_AHEAD + 20_000))).to.be.at.most(FRAME_US);
    expect(Math.abs(firstOut(103) - (t0 - SERVER_AHEAD + 60_000))).to.be.at.most(FRAME_US);
    expect(Math.abs(firstOut(108) - (t0 - SERVER_AHEAD + 160_000))).to.be.at.most(FRAME_US);
    const s = player.stats();
    expect(s).to.include({ concealedChunks: 2, discardedChunks: 1, chunks: 3 });
    expect(s.underrunFrames).to.be.at.least(4 * BLOCK);
  });

  it('holds audio until the clock is synced, then plays it at the right time', async () => {
    await player.start();
    player.onCodecHeader(header());
    const t0 = now() + SERVER_AHEAD + 200_000;
    player.onAudio(audio(0, t0));
    await clock.tickAsync(20);
    expect(player.stats().state).to.equal('waiting');
    syncClock();
    player.onAudio(audio(1, t0 + 20_000));
    await clock.tickAsync(400);
    expect(Math.abs(firstOut(100) - (t0 - SERVER_AHEAD))).to.be.at.most(FRAME_US);
  });

  it('rejects a stream format the device cannot play, discards audio before a header, conceals undecodable chunks', async () => {
    syncClock();
    await player.start();
    expect(() => player.onCodecHeader({ ...header(), sampleRate: 44100 })).to.throw(/44100 Hz .* does not match the device \(48000 Hz/);
    player.onAudio(audio(0, now() + SERVER_AHEAD));
    expect(player.stats().discardedChunks).to.equal(1);
    player.onCodecHeader(header());
    player.onAudio({ ...audio(1, now() + SERVER_AHEAD + 200_000), payload: new Uint8Array(3) });
    expect(player.stats().decodeErrors).to.equal(1);
  });

  it('restarts the timeline when the box starts a new stream, and a new header replaces the decoder', async () => {
    syncClock();
    await player.start();
    player.onCodecHeader(header());
    const t0 = now() + SERVER_AHEAD + 200_000;
    player.onAudio(audio(50, t0, false, 50));
    player.onAudio(audio(49, t0 - 20_000, false, 49)); // overtaken chunk: dropped, not a restart
    expect(player.stats()).to.include({ restarts: 0, discardedChunks: 1 });
    player.onAudio(audio(0, t0 + 2_000_000, false, 0)); // seq went back, time did not match: a new stream
    expect(player.stats().restarts).to.equal(1);
    player.onCodecHeader(header());
    expect(decoders[0]?.closed).to.equal(true);
    expect(player.stats().restarts).to.equal(2);
  });
});
