// `nearcast join`: join over MQTT, open the stream, play it, show status,
// leave cleanly on Ctrl-C.

import { DEFAULT_FORMAT } from '../../firmware/wire/format.ts';
import type { Reply } from '../../firmware/wire/requests.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import { openSink } from '../../hardware/audio/open-sink.ts';
import type { BoxClient } from '../client/box-client.ts';
import type { BoxAddress } from '../client/discovery.ts';
import { connectTcpStream } from '../client/tcp-stream.ts';
import { Player } from '../player/player.ts';
import { createDecoder, describeOpus } from '../../firmware/audio/codecs/index.ts';
import { ClockSync } from '../../firmware/wire/clock.ts';
import { checkOutput } from './output-check.ts';
import { formatStatus, type ListenStatus } from './status-line.ts';

export interface JoinOptions {
  name?: string;
  song?: string;
  device: string;
  latencyOffset: number;
  volume: number;
  json?: boolean;
  codec?: 'opus' | 'pcm';
  /** seconds to wait for the owner's approval (0: do not wait) */
  wait: number;
  /** called once the box accepted the join (the CLI notes its client id for one-shot commands) */
  onJoined?: () => () => void;
  /** reach the stream here instead of the box's address and the port in the join reply */
  stream?: { host: string; port: number };
}

interface Grant {
  stream: { tcpPort: number; token: string };
  codec: string;
  latencyMs: number;
  song?: { title?: string; error?: string };
}

interface BoxState {
  state?: string;
  track?: { title: string; artist: string; durationMs: number } | null;
  positionMs?: number;
  at?: number; // local ms when received, to extrapolate the position
}

export async function runJoin(client: BoxClient, box: BoxAddress, o: JoinOptions): Promise<number> {
  const out = (line: string) => process.stderr.write(line + '\n');
  // the device first: a listener that cannot play should not be approved and dropped
  const deviceProblem = await checkOutput(o.device);
  if (deviceProblem) {
    out(deviceProblem);
    await client.close();
    return 3;
  }
  const reply = await requestJoin(client, o, out);
  if (reply.status !== 'ok' || !reply.data) {
    out(`join refused: ${reply.error ?? 'no reason given'}`);
    await client.close();
    return 2;
  }
  const grant = reply.data;
  if (grant.song?.error) out(`song request: ${grant.song.error}`);
  else if (grant.song?.title) out(`playing your song: ${grant.song.title}`);

  // a roomy device buffer: the scheduler keeps only what it needs queued in it
  const sink = openSink(o.device, DEFAULT_FORMAT, { bufferMs: 300 });
  if (!sink) {
    out("--device none: nothing to play to");
    return 2;
  }
  const sync = new ClockSync();
  const player = new Player({
    sink, clockSync: sync, now: monotonicUs, volume: o.volume, latencyOffsetMs: o.latencyOffset,
    decoderFactory: (h) => {
      if (h.codec === 'opus') out(`opus decoder: ${describeOpus()}`); // native libopus, or the WebAssembly fallback and why
      return createDecoder(h.codec, { sampleRate: h.sampleRate, channels: h.channels, bitsPerSample: 16 });
    },
  });

  // a hard resync is worth a line: it is audible (a skip or a gap)
  let startedAt = NaN;
  player.scheduler.on('started', () => { startedAt = monotonicUs(); });
  player.scheduler.on('resync', (e) => {
    out(`resync: ${(e.errorUs / 1000).toFixed(2)} ms off (${e.cause === 'device' ? 'the device stalled or ran dry' : 'persistent error'}), ${Number.isNaN(startedAt) ? '' : `${((monotonicUs() - startedAt) / 1000).toFixed(0)} ms after playback started; `}clock: ${sync.exchanges} exchanges, min RTT ${(sync.minRttUs / 1000).toFixed(2)} ms`);
  });

  let stopping = false;
  let fatal = '';
  const stream = await connectTcpStream(o.stream?.host ?? box.host, o.stream?.port ?? grant.stream.tcpPort, grant.stream.token, o.name, sync, {
    onCodecHeader: (h) => player.onCodecHeader(h),
    onAudio: (f) => player.onAudio(f),
    onServerError: (e) => { fatal = `the box closed the stream: ${e.reason}`; },
    onProtocolError: (m) => { fatal = `stream protocol error: ${m}`; stream.close(); },
  });
  try {
    await player.start();
  } catch (e) {
    out(`cannot play to '${o.device}': ${(e as Error).message}`);
    stream.close();
    await client.request('leave', {}, { timeoutMs: 1000 }).catch(() => {});
    await client.close();
    return 3;
  }

  const forgetNote = o.onJoined?.() ?? (() => {});
  const boxState: BoxState = {};
  await client.watch((topic, payload) => {
    if (topic === client.topics.state && payload && typeof payload === 'object') Object.assign(boxState, payload, { at: Date.now() });
  });

  const status = (): ListenStatus => {
    const s = player.stats();
    const pos = (boxState.positionMs ?? 0) + (boxState.state === 'playing' && boxState.at ? Date.now() - boxState.at : 0);
    return {
      state: s.state, track: boxState.track ?? null, positionMs: pos, bufferMs: s.bufferedMs,
      syncErrorMs: s.state === 'playing' ? s.syncErrorUs / 1000 : null, underruns: s.underruns, resyncs: s.resyncs,
      droppedFrames: s.droppedFrames, insertedFrames: s.insertedFrames,
      deviceDelayMs: s.deviceDelayMs, deviceNoiseMs: s.deviceNoiseUs / 1000, deviceSteps: s.deviceSteps, devicePpm: s.devicePpm,
      concealedChunks: s.concealedChunks, discardedChunks: s.discardedChunks, decodeErrors: s.decodeErrors, restarts: s.restarts,
    };
  };
  const tty = process.stdout.isTTY && !o.json;
  const reporter = setInterval(() => {
    const s = player.stats();
    if (s.state === 'playing') stream.protocol.report({ syncErrorUs: s.syncErrorUs, bufferMs: s.bufferedMs, underruns: s.underruns });
  }, 1000);
  const ticker = setInterval(() => {
    if (o.json) process.stdout.write(JSON.stringify({ t: new Date().toISOString(), ...status() }) + '\n');
    else if (tty) process.stdout.write('\r\x1b[2K' + formatStatus(status(), process.stdout.columns ?? 80));
  }, o.json ? 1000 : 250);

  const finish = async (why: string, code: number): Promise<number> => {
    stopping = true;
    forgetNote();
    clearInterval(ticker);
    clearInterval(reporter);
    if (tty) process.stdout.write('\n');
    out(why);
    await client.request('leave', {}, { timeoutMs: 1500 }).catch(() => {});
    stream.close();
    await player.stop().catch(() => {});
    await client.close().catch(() => {});
    return code;
  };

  return new Promise<number>((resolve) => {
    const onSignal = () => { if (!stopping) void finish('left the box', 0).then(resolve); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void stream.closed.then((reason) => {
      if (!stopping) void finish(fatal || `stream ended: ${reason}`, 1).then(resolve);
    });
  });
}

/**
 * Asks to join. While the box keeps the join pending, shows how long it has waited;
 * after `o.wait` seconds it gives up and sends `leave`, which withdraws the
 * pending entry on the box.
 */
async function requestJoin(client: BoxClient, o: JoinOptions, out: (line: string) => void): Promise<Reply<Grant>> {
  const tty = !!process.stderr.isTTY;
  let pendingSince = 0;
  let ticker: NodeJS.Timeout | null = null;
  let deadline: NodeJS.Timeout | null = null;
  let gaveUp = false;
  let settle: (r: Reply<Grant>) => void = () => {};
  const timedOut = new Promise<Reply<Grant>>((resolve) => { settle = resolve; });
  const giveUp = (error: string) => { gaveUp = true; settle({ status: 'error', error }); };
  const showWait = () => {
    const s = Math.round((Date.now() - pendingSince) / 1000);
    const line = `waiting for the owner to approve the join (share button on the box, key s under make run): ${s} s of ${o.wait} s`;
    if (tty) process.stderr.write('\r\x1b[2K' + line);
    else if (s % 15 === 0) out(line);
  };
  const joined = client.request<Grant>('join', { name: o.name, song: o.song, codec: o.codec }, {
    timeoutMs: 15_000,
    onPending: () => {
      if (pendingSince) return;
      pendingSince = Date.now();
      if (o.wait === 0) return giveUp('the box wants the owner to approve the join, and --wait 0 does not wait');
      if (!tty) out(`waiting for the owner to approve the join (share button on the box, key s under make run); giving up after ${o.wait} s`);
      else showWait();
      ticker = setInterval(showWait, 1000);
      deadline = setTimeout(() => giveUp(`nobody approved the join within ${o.wait} s (--wait); press the share button on the box (key s under make run) and try again`), o.wait * 1000);
    },
  });
  const reply = await Promise.race([joined, timedOut]).finally(() => {
    if (ticker) clearInterval(ticker);
    if (deadline) clearTimeout(deadline);
    if (tty && pendingSince) process.stderr.write('\n');
  });
  // withdraw the pending entry on the box (it would also forget it when we disconnect)
  if (gaveUp) await client.request('leave', {}, { timeoutMs: 2000 }).catch(() => {});
  return reply;
}
