// `nearcast join`: join over MQTT, open the stream, play it, show status, leave
// cleanly on Ctrl-C. When the box goes away (it restarted, the network dropped)
// the player keeps its device open and runs dry on silence while the join is made
// again, with backoff, for at most --rejoin-timeout seconds (rejoin.ts).

import { DEFAULT_FORMAT } from '../../firmware/wire/format.ts';
import { monotonicMs, monotonicUs } from '../../firmware/util/time.ts';
import { setProcessNice } from '../../firmware/util/priority.ts';
import { describeSinkSpec, openSink } from '../../hardware/audio/open-sink.ts';
import type { BoxClient } from '../client/box-client.ts';
import type { BoxAddress } from '../client/discovery.ts';
import { Player } from '../player/player.ts';
import { describeResyncCause } from '../player/scheduler-types.ts';
import { createDecoder, describeOpus } from '../../firmware/audio/codecs/index.ts';
import { ClockSync } from '../../firmware/wire/clock.ts';
import { openLink, type BoxLink, type LinkEnd } from './box-link.ts';
import { requestJoin, type Grant } from './join-request.ts';
import { checkOutput } from './output-check.ts';
import { DEFAULT_REJOIN, Outage, seconds } from './rejoin.ts';
import { formatStatus, type ListenStatus } from './status-line.ts';

export interface JoinOptions {
  name?: string;
  song?: string;
  device: string;
  latencyOffset: number;
  volume: number;
  /** the player's nice value, set before the device is opened (0: left as it is) */
  priority: number;
  json?: boolean;
  codec?: 'opus' | 'pcm';
  /** seconds to wait for the owner's approval (0: do not wait) */
  wait: number;
  /** seconds to keep joining again a box that went away (0: exit at once instead) */
  rejoinTimeout: number;
  /** a new MQTT connection to the same box, as the same user: with this client id, or a fresh one */
  reconnect?: (clientId?: string) => Promise<BoxClient>;
  /** called whenever the box accepted the join (the CLI notes the connection for one-shot commands); returns how to forget it */
  onJoined?: (client: BoxClient) => () => void;
  /** this companion's listener key for the box (listener-key.ts) */
  listenerKey?: string;
  /** reach the stream here instead of the box's address and the port in the join reply */
  stream?: { host: string; port: number };
}

interface BoxState {
  state?: string;
  track?: { title: string; artist: string; durationMs: number } | null;
  positionMs?: number;
  at?: number; // local ms when received, to extrapolate the position
}

/** a granted join; `outage`: the box went away while it was being made */
type Joined = { client: BoxClient; grant: Grant; outage: Outage | null };
type Failed = { code: number; why: string };

/** exit code when the box did not come back within --rejoin-timeout */
export const EXIT_BOX_GONE = 4;
/** how long an accepted stream may take to send its codec header */
const STREAM_READY_MS = 10_000;

export async function runJoin(firstClient: BoxClient, box: BoxAddress, o: JoinOptions): Promise<number> {
  const out = (line: string) => process.stderr.write(line + '\n');
  /** a line on stderr, and with --json the same news as an event line on stdout */
  const tell = (line: string, event: string, fields: object = {}) => {
    out(line);
    if (o.json) process.stdout.write(JSON.stringify({ t: new Date().toISOString(), event, ...fields }) + '\n');
  };
  // the device first: a listener that cannot play should not be approved and dropped
  const deviceProblem = await checkOutput(o.device);
  if (deviceProblem) {
    out(deviceProblem);
    await firstClient.close();
    return 3;
  }

  let stopping = false;
  let wakeStop: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    wakeStop = resolve;
  });
  /** waits `ms`, or less when Ctrl-C comes (a timer that holds the process: between attempts nothing else may) */
  const pause = (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      stopRequested,
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  let clientId = firstClient.clientId;

  const giveUpWhy = (failure: string) => `the box did not come back within ${o.rejoinTimeout} s (--rejoin-timeout); last: ${failure}`;
  /**
   * Joins until the box grants a stream. A connection lost (the box restarted while
   * the join waited for approval, or during an outage) is tried again with backoff;
   * a refusal is final on the first join and tried again during an outage (the box
   * may still be starting). `failure`: why the last attempt of this outage failed.
   */
  const join = async (start: BoxClient | null, outage: Outage | null, ask: { song?: string }, failure = ''): Promise<Joined | Failed> => {
    let client = start;
    for (;;) {
      if (outage) {
        const delay = outage.nextDelayMs();
        if (delay === null) return { code: EXIT_BOX_GONE, why: giveUpWhy(failure || outage.reason) };
        if (outage.attemptCount === 1) tell(`box went away (${outage.reason}): rejoining in ${seconds(delay)}`, 'box-lost', { reason: outage.reason, inMs: delay });
        else
          tell(`rejoin attempt ${outage.attemptCount - 1} failed (${failure}): next in ${seconds(delay)}`, 'rejoin-failed', {
            reason: failure,
            attempt: outage.attemptCount - 1,
            inMs: delay,
          });
        await pause(delay);
      }
      if (stopping) return { code: 0, why: 'left the box' };
      if (!client && o.reconnect) {
        client = await connectAs(o.reconnect, clientId).catch((e: Error) => {
          failure = e.message;
          return null;
        });
        if (client) clientId = client.clientId;
      }
      if (client) {
        const asked = requestJoin(client, { name: o.name, song: ask.song, codec: o.codec, listenerKey: o.listenerKey, wait: o.wait }, out);
        const r = await Promise.race([asked, stopRequested.then(() => null)]);
        if (!r) {
          // Ctrl-C while the join waits for approval: withdraw it
          await client.request('leave', {}, { timeoutMs: 1500 }).catch(() => {});
          await client.close().catch(() => {});
          return { code: 0, why: 'left the box' };
        }
        if (r.kind === 'granted') return { client, grant: r.grant, outage };
        await client.close().catch(() => {});
        client = null;
        if (r.kind === 'refused' && (!outage || r.waited)) return { code: 2, why: `join refused: ${r.error}` };
        // our old listener is still on the box (it has not noticed the drop yet): join as a new one
        if (r.kind === 'refused' && /already listening from another connection/.test(r.error)) clientId = '';
        failure = r.kind === 'refused' ? `join refused: ${r.error}` : r.why;
      }
      if (!o.reconnect || o.rejoinTimeout === 0) return { code: EXIT_BOX_GONE, why: failure };
      outage ??= new Outage(failure, { ...DEFAULT_REJOIN, timeoutMs: o.rejoinTimeout * 1000 });
    }
  };

  const first = await join(firstClient, null, { song: o.song });
  if ('code' in first) {
    if (first.code === EXIT_BOX_GONE) tell(first.why, 'gave-up', { reason: first.why });
    else out(first.why);
    return first.code;
  }
  if (first.grant.song?.error) out(`song request: ${first.grant.song.error}`);
  else if (first.grant.song?.title) out(`playing your song: ${first.grant.song.title}`);

  if (o.priority !== 0) {
    // before the device opens: the threads an ALSA plugin starts take this nice value
    const p = setProcessNice(o.priority);
    if (!p.ok) out(`priority: playing at nice ${p.nice}, not ${o.priority}: ${p.why} (a busy machine may starve the player)`);
  }
  // a roomy device buffer: the scheduler keeps only what it needs queued in it
  const sink = openSink(o.device, DEFAULT_FORMAT, { bufferMs: 300 });
  if (!sink) {
    out('--device none: nothing to play to');
    return 2;
  }
  out(`output: ${describeSinkSpec(o.device)}`); // and, where `pulse` fell back to ALSA's plugin, why
  const sync = new ClockSync();
  let decoderTold = false;
  const player = new Player({
    sink,
    clockSync: sync,
    now: monotonicUs,
    volume: o.volume,
    latencyOffsetMs: o.latencyOffset,
    decoderFactory: (h) => {
      if (h.codec === 'opus' && !decoderTold) out(`opus decoder: ${describeOpus()}`); // native libopus, or the WebAssembly fallback and why
      decoderTold = true;
      return createDecoder(h.codec, { sampleRate: h.sampleRate, channels: h.channels, bitsPerSample: 16 });
    },
  });

  let startedAt = NaN;
  player.scheduler.on('started', () => {
    if (Number.isNaN(startedAt)) startedAt = monotonicUs();
  });
  // a hard resync is worth a line: it is audible (a skip or a gap)
  player.scheduler.on('resync', (e) => {
    out(
      `resync: ${(e.errorUs / 1000).toFixed(2)} ms off (${describeResyncCause(e.cause, e.starvedMs)}), ${Number.isNaN(startedAt) ? '' : `${((monotonicUs() - startedAt) / 1000).toFixed(0)} ms after playback started; `}clock: ${sync.exchanges} exchanges, min RTT ${(sync.minRttUs / 1000).toFixed(2)} ms`,
    );
  });

  const target = (grant: Grant) => ({ host: o.stream?.host ?? box.host, port: o.stream?.port ?? grant.stream.tcpPort, token: grant.stream.token, name: o.name });
  /** the stream of a granted join, once the box sends its codec header; else why it did not come */
  const connectStream = async (joined: Joined): Promise<BoxLink | string> => {
    const link = await openLink(joined.client, target(joined.grant), sync, player).catch((e: Error) => e.message);
    if (typeof link === 'string') return link;
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([
      link.ready.then(() => null),
      link.ended,
      new Promise<LinkEnd>((r) => {
        timer = setTimeout(() => r({ reason: `no audio within ${STREAM_READY_MS / 1000} s of connecting the stream`, rejoin: true }), STREAM_READY_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!end) return link;
    link.close();
    return end.reason;
  };

  // the device opens while the stream connects: it is running when the first audio arrives
  const deviceOpen = player.start().then(
    () => null,
    (e: Error) => e,
  );
  let link = await connectStream(first);
  const deviceError = await deviceOpen;
  if (deviceError || typeof link === 'string') {
    if (deviceError) out(`cannot play to '${o.device}': ${deviceError.message}`);
    else out(link as string);
    if (typeof link !== 'string') link.close();
    await player.stop().catch(() => {});
    await first.client.request('leave', {}, { timeoutMs: 1000 }).catch(() => {});
    await first.client.close();
    return deviceError ? 3 : 1;
  }

  const boxState: BoxState = {};
  let connection: 'joined' | 'rejoining' = 'joined';
  let rejoins = 0;
  const rejoined = (outage: Outage) => {
    rejoins++;
    tell(`rejoined after ${seconds(Math.round(outage.elapsedMs() / 100) * 100)}`, 'rejoined', { afterMs: outage.elapsedMs(), attempts: outage.attemptCount });
  };
  if (first.outage) rejoined(first.outage); // the box restarted while the first join waited for approval
  let forgetNote = () => {};
  const admitted = async (current: BoxLink) => {
    forgetNote();
    forgetNote = o.onJoined?.(current.client) ?? (() => {});
    await current.client
      .watch((topic, payload) => {
        if (topic === current.client.topics.state && payload && typeof payload === 'object') Object.assign(boxState, payload, { at: monotonicMs() });
      })
      .catch(() => {});
  };
  await admitted(link);

  const status = (): ListenStatus => {
    const s = player.stats();
    const pos = (boxState.positionMs ?? 0) + (boxState.state === 'playing' && boxState.at ? monotonicMs() - boxState.at : 0);
    return {
      state: s.state,
      connection,
      rejoins,
      track: boxState.track ?? null,
      positionMs: pos,
      bufferMs: s.bufferedMs,
      syncErrorMs: s.state === 'playing' ? s.syncErrorUs / 1000 : null,
      underruns: s.underruns,
      resyncs: s.resyncs,
      starvedResyncs: s.starvedResyncs,
      starvedFrames: s.starvedFrames,
      droppedFrames: s.droppedFrames,
      insertedFrames: s.insertedFrames,
      deviceDelayMs: s.deviceDelayMs,
      deviceNoiseMs: s.deviceNoiseUs / 1000,
      deviceSteps: s.deviceSteps,
      deviceRestarts: s.deviceRestarts,
      devicePpm: s.devicePpm,
      clockOffsetMs: sync.synced ? sync.offsetAt(monotonicUs()) / 1000 : undefined,
      clockDriftPpm: sync.synced ? sync.drift : undefined,
      concealedChunks: s.concealedChunks,
      discardedChunks: s.discardedChunks,
      decodeErrors: s.decodeErrors,
      restarts: s.restarts,
    };
  };
  const tty = process.stdout.isTTY && !o.json;
  const reporter = setInterval(() => {
    const s = player.stats();
    if (s.state === 'playing' && link && typeof link !== 'string') link.stream.protocol.report({ syncErrorUs: s.syncErrorUs, bufferMs: s.bufferedMs, underruns: s.underruns });
  }, 1000);
  const ticker = setInterval(
    () => {
      if (o.json) process.stdout.write(JSON.stringify({ t: new Date().toISOString(), ...status() }) + '\n');
      else if (tty) process.stdout.write('\r\x1b[2K' + formatStatus(status(), process.stdout.columns ?? 80));
    },
    o.json ? 1000 : 250,
  );
  const onSignal = () => {
    stopping = true;
    wakeStop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let result: Failed;
  for (;;) {
    const current: BoxLink = link;
    const end = await Promise.race([current.ended, stopRequested.then(() => null)]);
    if (!end) {
      result = { code: 0, why: 'left the box' };
      await current.client.request('leave', {}, { timeoutMs: 1500 }).catch(() => {});
      current.close();
      await current.client.close().catch(() => {});
      break;
    }
    // the device stays open and plays silence from now on (what the player still holds is the old
    // stream's future: a restarted box goes on from its saved position, not from there)
    player.scheduler.flush();
    await current.client.close().catch(() => {});
    if (!end.rejoin || !o.reconnect || o.rejoinTimeout === 0) {
      result = { code: end.rejoin ? EXIT_BOX_GONE : 1, why: end.reason };
      break;
    }
    // the box went away: join it again while the device plays silence
    connection = 'rejoining';
    forgetNote();
    forgetNote = () => {};
    const outage = new Outage(end.reason, { ...DEFAULT_REJOIN, timeoutMs: o.rejoinTimeout * 1000 });
    const next = await rejoinUntilPlaying(outage);
    if ('code' in next) {
      result = next;
      break;
    }
    link = next;
    connection = 'joined';
    await admitted(next);
    rejoined(outage);
  }

  /** Joins again (never asking for the song again: the box continues its own) and reconnects the stream. */
  async function rejoinUntilPlaying(outage: Outage): Promise<BoxLink | Failed> {
    let failure = '';
    for (;;) {
      const joined = await join(null, outage, {}, failure);
      if ('code' in joined) return joined;
      sync.reset(); // a box that rebooted has another clock
      const next = await connectStream(joined);
      if (typeof next !== 'string') return next;
      failure = next;
      await joined.client.request('leave', {}, { timeoutMs: 1000 }).catch(() => {});
      await joined.client.close().catch(() => {});
    }
  }

  stopping = true;
  forgetNote();
  clearInterval(ticker);
  clearInterval(reporter);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (tty) process.stdout.write('\n');
  if (result.code === EXIT_BOX_GONE) tell(result.why, 'gave-up', { reason: result.why });
  else out(result.why);
  await player.stop().catch(() => {});
  return result.code;
}

/** A new connection with the client id used so far; a fresh id when the box still holds the old one (it has not noticed the drop). */
async function connectAs(reconnect: (clientId?: string) => Promise<BoxClient>, clientId: string): Promise<BoxClient> {
  if (!clientId) return reconnect();
  try {
    return await reconnect(clientId);
  } catch (e) {
    if (/identifier rejected|is in use/i.test((e as Error).message)) return reconnect();
    throw e;
  }
}
