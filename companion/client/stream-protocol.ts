// Listener side of the stream protocol, independent of the transport (TCP in the
// CLI, WebSocket in the browser): hello, time-sync schedule, frame dispatch.
// Browser-safe.

import { ClockSync } from '../../firmware/wire/clock.ts';
import {
  encodeFrame,
  FrameDecoder,
  FrameError,
  FrameType,
  PROTOCOL_VERSION,
  type AudioFrame,
  type CodecHeaderFrame,
  type ErrorFrame,
  type SettingsFrame,
} from '../../firmware/wire/frames.ts';

export interface StreamProtocolHandlers {
  onCodecHeader(h: CodecHeaderFrame): void;
  onAudio(f: AudioFrame): void;
  onSettings?(s: SettingsFrame): void;
  onServerError?(e: ErrorFrame): void;
  onProtocolError?(message: string): void;
}

// Time-sync schedule: the estimate rests on each direction's fastest exchanges, so on a
// jittery link it is as good as the number of exchanges behind it. A listener must be in
// sync from its first audible second: many small exchanges at first, fewer once the
// window holds enough of them. [exchanges so far below which, gap in ms]
const SCHEDULE: ReadonlyArray<readonly [number, number]> = [
  [10, 5], // the connect burst: a first estimate within ~50 ms, before the first chunk plays
  [110, 10], // the first second of playout: 100 a second
  [610, 20], // the next 10 s: 50 a second
  [1210, 50], // the next 30 s: 20 a second
];
const PERIOD_MS = 100; // then ten a second (about 70 bytes each way per exchange)

export function syncGapMs(sent: number): number {
  for (const [below, gap] of SCHEDULE) if (sent < below) return gap;
  return PERIOD_MS;
}

export class StreamProtocol {
  private decoder = new FrameDecoder();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sent = 0;
  private stopped = false;

  constructor(
    private send: (bytes: Uint8Array) => void,
    private clock: () => number,
    private readonly handlers: StreamProtocolHandlers,
    readonly sync: ClockSync = new ClockSync(),
  ) {}

  start(token: string, name?: string): void {
    this.send(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token, name }));
    this.scheduleSync(0);
  }

  private scheduleSync(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.send(encodeFrame({ type: FrameType.TimeRequest, t1: this.clock() }));
      this.sent++;
      this.scheduleSync(syncGapMs(this.sent));
    }, delayMs);
  }

  /** Feeds received bytes; `rxUs` is the receive time (t4 of a sync exchange). */
  receive(bytes: Uint8Array, rxUs: number = this.clock()): void {
    let frames: ReturnType<FrameDecoder['push']>;
    try {
      frames = this.decoder.push(bytes);
    } catch (e) {
      this.stop();
      this.handlers.onProtocolError?.(e instanceof FrameError ? e.message : String(e));
      return;
    }
    for (const f of frames) {
      switch (f.type) {
        case FrameType.TimeReply:
          this.sync.add({ t1: f.t1, t2: f.t2, t3: f.t3, t4: rxUs });
          break;
        case FrameType.CodecHeader:
          this.handlers.onCodecHeader(f);
          break;
        case FrameType.Audio:
          this.handlers.onAudio(f);
          break;
        case FrameType.Settings:
          this.handlers.onSettings?.(f);
          break;
        case FrameType.Error:
          this.handlers.onServerError?.(f);
          break;
        case FrameType.Keepalive:
          break;
        default:
          this.handlers.onProtocolError?.(`unexpected frame type ${f.type} from the box`);
      }
    }
  }

  /** Tells the box how playout is going (shown on its `listeners` topic). */
  report(r: { syncErrorUs: number; bufferMs: number; underruns: number }): void {
    if (!this.stopped) this.send(encodeFrame({ type: FrameType.Report, ...r }));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
