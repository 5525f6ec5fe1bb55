import { expect } from 'chai';
import net from 'node:net';
import { FifoRing, type Chunk } from '../../../../firmware/audio/fifo.ts';
import { StreamServer } from '../../../../firmware/stream/stream-server.ts';
import { StreamTokens } from '../../../../firmware/stream/stream-tokens.ts';
import { monotonicUs } from '../../../../firmware/util/time.ts';
import { encodeFrame, ErrorCode, FrameDecoder, FrameType, PROTOCOL_VERSION, type Frame } from '../../../../firmware/wire/frames.ts';
import { itemAt } from '../../../../firmware/util/checked-index.ts';

function chunk(seq: number, playAt: number): Chunk {
  return {
    seq,
    playAt,
    pcm: new Int16Array(4),
    payloads: new Map([
      ['pcm', new Uint8Array([seq & 255, 1, 2, 3])],
      ['opus', new Uint8Array([9])],
    ]),
  };
}

async function connect(port: number) {
  const s = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => s.once('connect', r));
  const dec = new FrameDecoder();
  const frames: Frame[] = [];
  s.on('data', (b) => frames.push(...dec.push(new Uint8Array(b))));
  const closed = new Promise((r) => s.once('close', r));
  return { s, frames, closed };
}

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), 'condition reached').to.equal(true);
};

describe('StreamServer', () => {
  let fifo: FifoRing;
  let tokens: StreamTokens;
  let server: StreamServer;
  let port: number;
  let now = 0;

  beforeEach(async () => {
    now = monotonicUs() + 100_000; // "now" of the FIFO, a little ahead so slow test machines keep 10 future chunks
    fifo = new FifoRing(20);
    // 10 chunks already played, 10 still ahead of now
    for (let i = 0; i < 20; i++) fifo.push(chunk(i, now + (i - 10) * 20_000));
    tokens = new StreamTokens(60_000);
    server = new StreamServer({
      fifo,
      tokens,
      clock: monotonicUs,
      joinLeadUs: 0,
      header: (codec) => ({ type: FrameType.CodecHeader, version: 1, codec, sampleRate: 48000, channels: 2, bitsPerSample: 16, chunkMs: 20, codecDelayFrames: 0, latencyMs: 400 }),
    });
    port = await server.listen(0, '127.0.0.1');
  });
  afterEach(() => server.close());

  it('a listener with a join token gets the codec header and, at once, the future part of the FIFO (fast join)', async () => {
    const token = tokens.issue('c1', 'pcm');
    const c = await connect(port);
    c.s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token, name: 'Bob' }));
    await until(() => c.frames.filter((f) => f.type === FrameType.Audio).length >= 9);
    expect(c.frames[0]).to.include({ type: FrameType.CodecHeader, codec: 'pcm' });
    const audio = c.frames.filter((f) => f.type === FrameType.Audio);
    expect(audio.every((f) => f.playAt >= now - 100_000)).to.equal(true);
    const firstSeq = itemAt(audio, 0, 'audio frames').seq;
    expect(firstSeq).to.be.within(5, 11);
    expect(audio.map((a) => a.seq)).to.deep.equal(audio.map((_, i) => firstSeq + i));
    expect(server.sessions.get('c1')?.name).to.equal('Bob');
    c.s.destroy();
  });

  it('the same token works once; an unknown token is refused with a reason', async () => {
    const token = tokens.issue('c1', 'opus');
    const a = await connect(port);
    a.s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token }));
    await until(() => a.frames.length > 0);
    const b = await connect(port);
    b.s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token }));
    await b.closed;
    expect(b.frames[0]).to.deep.include({ type: FrameType.Error, code: ErrorCode.BadToken });
    a.s.destroy();
  });

  it('refuses a wrong first frame, a wrong version and garbage, each with an error frame', async () => {
    for (const bytes of [
      encodeFrame({ type: FrameType.Keepalive }),
      encodeFrame({ type: FrameType.Hello, version: 99, token: 'x' }),
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0]),
    ]) {
      const c = await connect(port);
      c.s.write(bytes);
      await c.closed;
      expect(c.frames[0]?.type).to.equal(FrameType.Error);
    }
  });

  it('answers time-sync requests with the receive and send times of the box clock', async () => {
    const token = tokens.issue('c2', 'pcm');
    const c = await connect(port);
    c.s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token }));
    await until(() => c.frames.length > 0);
    const t1 = monotonicUs();
    c.s.write(encodeFrame({ type: FrameType.TimeRequest, t1 }));
    await until(() => c.frames.some((f) => f.type === FrameType.TimeReply));
    const r = c.frames.find((f) => f.type === FrameType.TimeReply)!;
    if (r.type !== FrameType.TimeReply) throw new Error('unreachable');
    expect(r.t1).to.equal(t1);
    expect(r.t2).to.be.at.least(t1);
    expect(r.t3).to.be.at.least(r.t2);
    expect(r.t3).to.be.at.most(monotonicUs());
    c.s.destroy();
  });

  it('a listener that stalls is moved to the live edge with a gap marker', async () => {
    const token = tokens.issue('c3', 'pcm');
    const c = await connect(port);
    c.s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token }));
    await until(() => c.frames.filter((f) => f.type === FrameType.Audio).length >= 9);
    const session = server.sessions.get('c3')!;
    // the FIFO moves on by more than its capacity while this session is not pumped
    for (let i = 20; i < 60; i++) fifo.push(chunk(i, now + (i - 10) * 20_000));
    session.pump();
    await until(() => c.frames.some((f) => f.type === FrameType.Audio && f.gap));
    const gapFrame = c.frames.find((f) => f.type === FrameType.Audio && f.gap)!;
    if (gapFrame.type !== FrameType.Audio) throw new Error('unreachable');
    expect(gapFrame.seq).to.be.at.least(fifo.oldestSeq);
    expect(session.stats.gaps).to.equal(1);
    c.s.destroy();
  });

  it('a token is refused once the MQTT connection it was issued to has closed; a big or slow pre-hello is closed', async () => {
    const open = new Set([7]);
    const guarded = new StreamServer({
      fifo,
      tokens,
      clock: monotonicUs,
      joinLeadUs: 0,
      grantValid: (g) => open.has(g.serial),
      limits: { perAddress: 4, total: 8, helloTimeoutMs: 300 },
      header: (codec) => ({ type: FrameType.CodecHeader, version: 1, codec, sampleRate: 48000, channels: 2, bitsPerSample: 16, chunkMs: 20, codecDelayFrames: 0, latencyMs: 400 }),
    });
    const gport = await guarded.listen(0, '127.0.0.1');
    try {
      const stolen = tokens.issue('victim', 'pcm', 7);
      open.delete(7); // the victim's MQTT connection closed before the stream connected
      const thief = await connect(gport);
      thief.s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token: stolen }));
      await thief.closed;
      expect(thief.frames.at(-1)).to.include({ type: FrameType.Error, code: ErrorCode.BadToken });
      expect(guarded.sessions.size).to.equal(0);

      const big = await connect(gport);
      big.s.write(Buffer.from([0, 0x10, 0, 0, FrameType.Hello])); // declares a 1 MiB hello
      await big.closed;
      expect(big.frames.at(-1)).to.include({ type: FrameType.Error, code: ErrorCode.BadFrame });

      const slow = await connect(gport);
      const t0 = Date.now();
      await slow.closed;
      expect(Date.now() - t0).to.be.within(200, 3000);
      expect(slow.frames.at(-1)).to.include({ type: FrameType.Error, code: ErrorCode.Timeout });

      const held = await Promise.all([1, 2, 3, 4].map(() => connect(gport)));
      const fifth = await connect(gport);
      await fifth.closed;
      expect(fifth.frames.at(-1)).to.include({ type: FrameType.Error, code: ErrorCode.Busy });
      for (const h of held) h.s.destroy();
    } finally {
      await guarded.close();
    }
  });
});
