// One connected listener: a read cursor into the FIFO, sending each chunk's
// already-encoded payload (never re-encoding per listener), answering time-sync
// requests, and never holding anyone else back: a listener whose socket cannot
// keep up stops being fed, and when its cursor falls off the FIFO's tail it is
// moved to the live edge with a gap marker.

import { EventEmitter } from 'node:events';
import { FifoCursor, type Chunk, type FifoRing } from '../audio/fifo.ts';
import type { CodecDemand } from '../audio/codecs/on-demand-encoders.ts';
import type { CodecName } from '../wire/format.ts';
import { encodeFrame, ErrorCode, FrameType, type CodecHeaderFrame, type Frame } from '../wire/frames.ts';
import type { StreamTransport } from './transport.ts';
import { monotonicMs } from '../util/time.ts';

const MAX_QUEUED_BYTES = 96 * 1024; // ≈ 0.5 s of PCM, 6 s of Opus: beyond that wait for 'drain'
// An honest listener sends time requests several times a second: 30 s without a byte is a
// listener whose network vanished (nothing closes such a connection; README.md "Reliability").
// Checked every second, so its place is freed within 31 s.
const IDLE_TIMEOUT_MS = 30_000;
const IDLE_CHECK_MS = 1000;
// Time-sync replies are the only thing a listener can make the box send on
// demand. A listener that asks faster than this, or does not read what it is
// sent, gets no reply (counted): a stalled or hostile listener cannot make the
// box queue replies for it without bound.
const TIME_REPLIES_PER_SECOND = 50;
const MAX_QUEUED_CONTROL_BYTES = MAX_QUEUED_BYTES + 16 * 1024;

export interface SessionStats {
  chunksSent: number;
  bytesSent: number;
  gaps: number;
  connectedAt: number;
  /** how far ahead of now (ms) the last chunk sent will play: the listener's buffer */
  aheadMs: number;
  /** the listener's own last report of its playout, if it sends them */
  report: { syncErrorUs: number; bufferMs: number; underruns: number; at: number } | null;
}

export interface ListenerSessionOptions {
  clientId: string;
  name: string;
  codec: CodecName;
  transport: StreamTransport;
  fifo: FifoRing;
  header: () => CodecHeaderFrame;
  clock: () => number; // µs
  /** a new listener starts with the first chunk due at least this far in the future */
  joinLeadUs: number;
  /** encodes the FIFO in this listener's codec while it listens; without it, chunks carry every payload already */
  encoding?: CodecDemand;
  /** a time-sync reply was not sent (too many requests, or the listener does not read) */
  onDroppedReply?: () => void;
}

// Framed audio bytes are cached per chunk so N listeners of one codec share one buffer.
const framedCache = new WeakMap<Chunk, Map<string, Uint8Array>>();

function framed(chunk: Chunk, codec: CodecName, gap: boolean): Uint8Array {
  let m = framedCache.get(chunk);
  if (!m) {
    m = new Map();
    framedCache.set(chunk, m);
  }
  const key = gap ? codec + '!' : codec;
  let bytes = m.get(key);
  if (!bytes) {
    const payload = chunk.payloads.get(codec);
    if (!payload) throw new Error(`chunk ${chunk.seq} has no ${codec} payload`);
    bytes = encodeFrame({ type: FrameType.Audio, seq: chunk.seq, playAt: chunk.playAt, gap, payload });
    m.set(key, bytes);
  }
  return bytes;
}

export class ListenerSession extends EventEmitter<{ close: [string] }> {
  private cursor: FifoCursor | null = null;
  private closed = false;
  private acquired = false;
  private lastRx: number;
  private lastPlayAt = 0;
  private idleTimer: NodeJS.Timeout;
  private replyWindow = { startedAt: 0, count: 0 };
  readonly stats: SessionStats;

  constructor(private readonly options: ListenerSessionOptions) {
    super();
    this.stats = { chunksSent: 0, bytesSent: 0, gaps: 0, connectedAt: Date.now(), aheadMs: 0, report: null };
    this.lastRx = monotonicMs();
    options.transport.onDrain(() => this.pump());
    options.transport.onClose((reason) => this.finish(reason));
    this.idleTimer = setInterval(() => {
      if (monotonicMs() - this.lastRx > IDLE_TIMEOUT_MS) this.kick(ErrorCode.Timeout, 'no data from the listener for 30 s');
    }, IDLE_CHECK_MS);
    this.idleTimer.unref();
  }

  get clientId(): string {
    return this.options.clientId;
  }
  get name(): string {
    return this.options.name;
  }
  get codec(): CodecName {
    return this.options.codec;
  }

  /** Sends the codec header and the future part of the FIFO at once (fast join). */
  start(): void {
    this.send({ ...this.options.header() });
    const { fifo, clock, joinLeadUs } = this.options;
    let startSeq = fifo.firstPlayingAfter(clock() + joinLeadUs) ?? fifo.newestSeq + 1;
    if (this.options.encoding) {
      try {
        startSeq = this.options.encoding.acquire(this.options.codec, startSeq); // the codec's first listener: its backlog is encoded here
        this.acquired = true;
      } catch (e) {
        this.kick(ErrorCode.ServerShutdown, `cannot encode ${this.options.codec}: ${(e as Error).message}`);
        return;
      }
    }
    this.cursor = new FifoCursor(fifo, { startSeq, clock, marginUs: joinLeadUs });
    this.pump();
  }

  /** The format changed mid-stream: announce it in-band before the next chunk. */
  announceFormat(): void {
    this.send(this.options.header());
  }

  /** Sends whatever the cursor has not sent yet, as far as the transport accepts. */
  pump(): void {
    const cursor = this.cursor;
    if (this.closed || !cursor) return;
    let budget = 300; // bounded: at most the whole FIFO per call
    while (budget-- > 0 && this.options.transport.bufferedBytes < MAX_QUEUED_BYTES) {
      // a cursor that fell off the FIFO's tail resumes at the live edge with gap set
      const read = cursor.next();
      if (!read) break;
      const { chunk, gap } = read;
      const bytes = framed(chunk, this.options.codec, gap);
      this.stats.gaps = cursor.gaps;
      this.stats.chunksSent++;
      this.stats.bytesSent += bytes.length;
      this.lastPlayAt = chunk.playAt;
      if (!this.options.transport.send(bytes)) break;
    }
    this.stats.aheadMs = Math.max(0, (this.lastPlayAt - this.options.clock()) / 1000);
  }

  /** Handles a frame from the listener (hello is handled by the server before the session exists). */
  handle(frame: Frame, rxUs: number): void {
    this.lastRx = monotonicMs();
    switch (frame.type) {
      case FrameType.TimeRequest:
        if (this.mayReply()) this.send({ type: FrameType.TimeReply, t1: frame.t1, t2: rxUs, t3: this.options.clock() });
        else this.options.onDroppedReply?.();
        break;
      case FrameType.Report:
        this.stats.report = { syncErrorUs: frame.syncErrorUs, bufferMs: frame.bufferMs, underruns: frame.underruns, at: Date.now() };
        break;
      case FrameType.Keepalive:
      case FrameType.Settings:
        break;
      case FrameType.Error:
        this.finish(`listener reported error ${frame.code}: ${frame.reason}`);
        break;
      default:
        this.kick(ErrorCode.BadFrame, `unexpected frame type ${frame.type} from a listener`);
    }
  }

  private mayReply(): boolean {
    if (this.options.transport.bufferedBytes > MAX_QUEUED_CONTROL_BYTES) return false;
    const now = monotonicMs();
    if (now - this.replyWindow.startedAt >= 1000) this.replyWindow = { startedAt: now, count: 0 };
    return ++this.replyWindow.count <= TIME_REPLIES_PER_SECOND;
  }

  kick(code: number, reason: string): void {
    if (this.closed) return;
    this.send({ type: FrameType.Error, code, reason });
    this.options.transport.close();
    this.finish(reason);
  }

  private send(f: Frame): void {
    if (this.closed) return;
    const bytes = encodeFrame(f);
    this.stats.bytesSent += bytes.length;
    this.options.transport.send(bytes);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleTimer);
    if (this.acquired) this.options.encoding?.release(this.options.codec);
    this.acquired = false;
    this.options.transport.close();
    this.emit('close', reason);
  }
}
