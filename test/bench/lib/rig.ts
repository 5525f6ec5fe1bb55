// In-process pieces for the sync and join benches: the box's audio engine and
// stream server (the same classes the controller composes), the box's own speaker
// on a virtual DAC, and listeners = Player + VirtualDac + StreamProtocol over real
// TCP. Each listener may run on a clock offset from the box's (its "phone clock"),
// so the clock sync has something real to find; its DAC clock shares that offset.

import net from 'node:net';
import { AudioEngine } from '../../../firmware/audio/engine.ts';
import type { SourceSpec } from '../../../firmware/audio/sources/source-spec.ts';
import { createDecoder } from '../../../firmware/audio/codecs/index.ts';
import { BoxEvents } from '../../../firmware/domain/box-events.ts';
import { Speaker } from '../../../firmware/extensions/speaker.ts';
import { StreamServer } from '../../../firmware/stream/stream-server.ts';
import { StreamTokens } from '../../../firmware/stream/stream-tokens.ts';
import { monotonicUs } from '../../../firmware/util/time.ts';
import { ClockSync } from '../../../firmware/wire/clock.ts';
import { DEFAULT_FORMAT, type CodecName } from '../../../firmware/wire/format.ts';
import { encodeFrame, FrameType } from '../../../firmware/wire/frames.ts';
import { realSinkClock, type SinkClock } from '../../../hardware/audio/paced-clock.ts';
import { VirtualDac } from '../../../hardware/audio/virtual-dac.ts';
import { Player } from '../../../companion/player/player.ts';
import { StreamProtocol } from '../../../companion/client/stream-protocol.ts';

export interface BoxRig {
  engine: AudioEngine;
  server: StreamServer;
  tokens: StreamTokens;
  port: number;
  speaker: { player: Player; dac: VirtualDac } | null;
  stop(): Promise<void>;
}

export async function startBoxRig(o: { source: SourceSpec; latencyMs?: number; codecs?: CodecName[]; speaker?: boolean }): Promise<BoxRig> {
  const clock = monotonicUs;
  const codecs = o.codecs ?? ['opus', 'pcm'];
  const latencyMs = o.latencyMs ?? 400;
  const engine = new AudioEngine({ format: DEFAULT_FORMAT, chunkMs: 20, latencyMs, codecs, clock });
  const tokens = new StreamTokens(60_000);
  // the box's join lead (firmware/listening.ts)
  const server = new StreamServer({ fifo: engine.fifo, tokens, header: (codec) => engine.codecHeader(codec), clock, joinLeadUs: 30_000, encoding: engine });
  engine.on('chunk', () => server.pumpAll());
  engine.start();
  engine.setSource(o.source);
  const port = await server.listen(0, '127.0.0.1');
  let speaker: BoxRig['speaker'] = null;
  let sp: Speaker | null = null;
  if (o.speaker) {
    const dac = new VirtualDac(DEFAULT_FORMAT, { ppm: 0, bufferMs: 100, name: 'box speaker' });
    sp = new Speaker({ engine, sink: dac, clock, events: new BoxEvents(), volume: 100, device: 'virtual DAC', log: { warn: (msg, extra) => console.warn(msg, extra ?? '') } });
    await sp.start();
    speaker = { player: sp.player, dac };
  }
  return {
    engine,
    server,
    tokens,
    port,
    speaker,
    stop: async () => {
      await sp?.stop();
      await server.close();
      engine.stop();
    },
  };
}

export interface Listener {
  name: string;
  player: Player;
  dac: VirtualDac;
  sync: ClockSync;
  /** listener clock − box clock, µs */
  clockOffsetUs: number;
  /** box-clock time at which source frame `source` left this listener's DAC; NaN if unknown */
  outTimeOf(source: number): number;
  /** why the stream ended early (the box closed it, or a protocol error), null while it runs */
  failure(): string | null;
  close(): Promise<void>;
}

export interface ListenerOptions {
  port: number;
  host?: string;
  token: string;
  name: string;
  ppm: number;
  clockOffsetUs?: number;
  /** called with the listener clock once the first sample is out */
  onStarted?: (firstFrameOutUs: number) => void;
  dacBufferMs?: number;
  /** what-if: extra time-sync requests per second on top of StreamProtocol's own schedule */
  extraSyncHz?: number;
}

export async function startListener(o: ListenerOptions): Promise<Listener> {
  const off = o.clockOffsetUs ?? 0;
  const now = () => monotonicUs() + off;
  const sinkClock: SinkClock = { nowUs: now, sleepUs: realSinkClock.sleepUs };
  const dac = new VirtualDac(DEFAULT_FORMAT, { ppm: o.ppm, bufferMs: o.dacBufferMs ?? 300, clock: sinkClock, name: o.name });
  const sync = new ClockSync();
  const player = new Player({
    sink: dac,
    clockSync: sync,
    now,
    decoderFactory: (h) => createDecoder(h.codec, { sampleRate: h.sampleRate, channels: h.channels, bitsPerSample: 16 }),
  });
  if (o.onStarted) player.scheduler.once('started', (e) => o.onStarted!(e.firstFrameOutUs));
  await player.start();
  const socket = net.connect({ host: o.host ?? '127.0.0.1', port: o.port, noDelay: true });
  // Recorded, not thrown: a throw inside a socket handler would end the whole bench
  // with that message alone, hiding what the bench was doing at the time.
  let failure: string | null = null;
  const fail = (why: string) => {
    failure ??= `${o.name}: ${why}`;
    console.error(failure);
  };
  const protocol = new StreamProtocol(
    (b) => socket.write(b),
    now,
    {
      onCodecHeader: (h) => player.onCodecHeader(h),
      onAudio: (f) => player.onAudio(f),
      onServerError: (e) => fail(`the box closed the stream: ${e.reason}`),
      onProtocolError: (m) => fail(`protocol error: ${m}`),
    },
    sync,
  );
  socket.on('data', (b: Buffer) => protocol.receive(new Uint8Array(b.buffer, b.byteOffset, b.length), now()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  protocol.start(o.token, o.name);
  const extra = o.extraSyncHz ? setInterval(() => socket.write(encodeFrame({ type: FrameType.TimeRequest, t1: now() })), 1000 / o.extraSyncHz) : null;
  return {
    name: o.name,
    player,
    dac,
    sync,
    clockOffsetUs: off,
    outTimeOf: (source) => {
      const dev = player.scheduler.deviceFrameOfSource(source);
      return Number.isNaN(dev) || dev >= dac.framesWritten ? NaN : dac.frameOutTimeUs(dev) - off;
    },
    failure: () => failure,
    close: async () => {
      protocol.stop();
      if (extra) clearInterval(extra);
      socket.destroy();
      await player.stop();
    },
  };
}
