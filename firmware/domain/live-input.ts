// Live input as the box runs it: what a capture source reports (its device lost
// and back, silence) and what a radio stream reports (lost and reconnecting,
// connected again) become box events, and in kiosk use (capture.silenceFallback
// `library`) the box plays its library while the capture stays silent — listening
// on in the background and switching back when sound returns.
//
// Under a kiosk programme, a radio stream that is lost is not waited for: the
// programme goes on with its next item at once, and event/error says why (README.md
// "Kiosk": the box is never silent without a word). Without a programme the box keeps
// trying the station with backoff, as the owner chose it.
//
// Switches are made on the next turn of the event loop: a report can come from
// inside the engine's read of that very source, and the engine must not have its
// source changed under it.

import type { CaptureReport, SourceOpener, StreamReport } from '../audio/sources/source-opener.ts';
import type { BoxEvents } from './box-events.ts';
import type { PlaybackControl } from './playback-control.ts';

export interface LiveInputOptions {
  opener: Pick<SourceOpener, 'on' | 'off' | 'listenOffAir' | 'stopListening'>;
  playback: Pick<PlaybackControl, 'selectSource' | 'nowPlaying'>;
  events: BoxEvents;
  fallback: 'none' | 'library';
  /** whether a kiosk programme runs now (one may be set or ended over MQTT): a lost radio stream then gives way to its next item */
  programme?: () => boolean;
  log(level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
  /** ms, for the log's rate limit (tests) */
  now?: () => number;
}

/** a capture that keeps re-aligning is told this often, with how many times */
const REALIGNED_LOG_EVERY_MS = 10_000;

export class LiveInput {
  private readonly onReport = (report: CaptureReport) => this.report(report);
  private readonly onStream = (report: StreamReport) => this.stream(report);
  private switching: NodeJS.Immediate | null = null;
  private realignedLoggedAt = -Infinity;
  private realignedSinceLog = 0;

  constructor(private readonly options: LiveInputOptions) {}

  start(): void {
    this.options.opener.on('capture', this.onReport);
    this.options.opener.on('stream', this.onStream);
  }

  /** a radio stream lost (with when it is tried again) or back; a library server's track reports through the engine */
  private stream(r: StreamReport): void {
    if (!r.live) return;
    const { events } = this.options;
    if (r.kind === 'lost' && this.options.programme?.() && this.options.playback.nowPlaying().source !== 'library') {
      this.options.log('warn', 'radio stream lost; the programme goes on with its next item', { source: r.source, error: r.message });
      events.emit('error', { source: r.source, message: `${r.message}; the programme goes on with its next item` });
      this.switchTo('library');
    } else if (r.kind === 'lost') {
      this.options.log('warn', 'radio stream lost; reconnecting', { source: r.source, error: r.message, retryInMs: r.retryInMs });
      events.emit('error', { source: r.source, message: r.message, retryInMs: r.retryInMs });
    } else if (r.kind === 'connected') {
      this.options.log('info', 'radio stream connected', { source: r.source, station: r.station, contentType: r.contentType });
      events.emit('stream', { source: r.source, state: 'connected', station: r.station, contentType: r.contentType });
    }
  }

  private report(r: CaptureReport): void {
    const { events } = this.options;
    if (r.kind === 'device-error') {
      this.options.log('warn', 'capture device problem; retrying', { device: r.device, error: r.message, retryInMs: r.retryInMs });
      events.emit('error', { source: r.source, device: r.device, message: r.message, retryInMs: r.retryInMs });
      return;
    }
    if (r.kind === 'device-ok') {
      events.emit('capture', { source: r.source, state: 'ok', device: r.device, rate: r.rate });
      return;
    }
    if (r.kind === 'realigned') {
      if (!r.offAir) this.realigned(r);
      return;
    }
    events.emit('silence', { source: r.source, state: r.state, silentForMs: Math.round(r.silentForMs) });
    if (this.options.fallback !== 'library') return;
    if (r.state === 'start' && !r.offAir && this.options.playback.nowPlaying().source === r.source) {
      this.options.log('info', 'capture silent: playing the library until sound returns', { source: r.source });
      this.switchTo('library', () => this.options.opener.listenOffAir(r.pcm));
    } else if (r.state === 'end' && r.offAir) {
      this.options.log('info', 'sound on the capture again: back to it', { source: r.source });
      this.switchTo(r.source);
    }
  }

  /** A skip or pause in the input is heard by every listener: told, the first at once, then at most every 10 s with a count. */
  private realigned(r: Extract<CaptureReport, { kind: 'realigned' }>): void {
    const now = this.options.now?.() ?? Date.now();
    this.realignedSinceLog++;
    if (now - this.realignedLoggedAt < REALIGNED_LOG_EVERY_MS) return;
    const what =
      r.cause === 'jump'
        ? `its timing jumped ${r.errorMs.toFixed(1)} ms`
        : r.cause === 'underrun'
          ? `${r.missingMs.toFixed(1)} ms of it not read in time`
          : 'the device lost frames';
    const why = r.heldUpMs !== undefined ? ` (the box was held up ${r.heldUpMs} ms just before: an overloaded machine)` : '';
    this.options.log('warn', `capture re-aligned: ${what}${why}`, { source: r.source, ...(this.realignedSinceLog > 1 && { times: this.realignedSinceLog }) });
    this.realignedLoggedAt = now;
    this.realignedSinceLog = 0;
  }

  private switchTo(source: string, then?: () => void): void {
    if (this.switching) clearImmediate(this.switching);
    this.switching = setImmediate(() => {
      this.switching = null;
      try {
        this.options.playback.selectSource(source); // opening the capture again ends the off-air listening
        then?.();
      } catch (e) {
        this.options.events.emit('error', { source, message: `cannot switch to ${source}: ${(e as Error).message}` });
      }
    });
  }

  stop(): void {
    this.options.opener.off('capture', this.onReport);
    this.options.opener.off('stream', this.onStream);
    if (this.switching) clearImmediate(this.switching);
    this.switching = null;
    this.options.opener.stopListening();
  }
}
