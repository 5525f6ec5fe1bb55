// Opens the engine's sources. Captures get the configured silence rule, and what
// they report (device lost and back, silence starting and ending) comes out of
// here as `capture` reports for the layer above to act on. It can also keep
// listening to a capture that is off air, for its silence to end; opening a
// capture for the engine ends that listening (one device, one reader).
// URL sources (radio, a music server's tracks) get their server's credentials
// here, at the moment of the request, and their news (connected, lost, a new
// title) comes out as `stream` reports.

import { EventEmitter } from 'node:events';
import type { CaptureDevice } from '../../../hardware/audio/alsa-capture.ts';
import { openCaptureDevice } from '../../../hardware/audio/open-capture.ts';
import { defaultOpenSource, sourceLabel, type SourceSpec } from './source-spec.ts';
import type { PcmSource, StreamTitle } from '../types.ts';
import { CaptureSource, type CaptureRealignment } from './capture-source.ts';
import { UrlSource, type UrlSourceOptions } from './url-source.ts';

export type CaptureReport = { source: string; pcm: string; offAir: boolean } & (
  | { kind: 'device-error'; device: string; message: string; retryInMs: number }
  | { kind: 'device-ok'; device: string; rate: number }
  | { kind: 'silence'; state: 'start' | 'end'; silentForMs: number }
  | ({ kind: 'realigned' } & CaptureRealignment)
);

export type StreamReport = { source: string; live: boolean } & (
  | { kind: 'connected'; station: string; contentType: string }
  | { kind: 'lost'; message: string; retryInMs: number }
  | { kind: 'title'; title: StreamTitle }
);

export interface SourceOpenerOptions {
  /** adds a library server's credentials to a request URL (its `server` names it) */
  authorize?: (server: string, url: URL) => URL;
  silenceSeconds: number;
  silenceThreshold: number;
  device?: (pcm: string) => CaptureDevice;
  clock?: () => number; // µs (tests)
  /** URL sources' timing (tests) */
  url?: Pick<UrlSourceOptions, 'retryMs' | 'connectTimeoutMs' | 'idleTimeoutMs' | 'prebufferMs'>;
}

/** how often an off-air capture is read, like the engine would: one 20 ms chunk at a time */
const OFF_AIR_READ_MS = 20;
const OFF_AIR_READ_FRAMES = 960;

export class SourceOpener extends EventEmitter<{ capture: [CaptureReport]; stream: [StreamReport] }> {
  private offAir: { source: CaptureSource; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly options: SourceOpenerOptions) {
    super();
  }

  /** The engine's source factory. */
  readonly open = (spec: SourceSpec): PcmSource => {
    if (spec.kind === 'url') return this.url(spec);
    if (spec.kind !== 'capture') return defaultOpenSource(spec);
    this.stopListening(); // the capture is back on air
    return this.capture(spec.pcm, false);
  };

  private url(spec: Extract<SourceSpec, { kind: 'url' }>): UrlSource {
    const { authorize } = this.options;
    const server = spec.server;
    const label = sourceLabel(spec);
    const source = new UrlSource(spec.url, {
      live: spec.live,
      label,
      trackId: spec.trackId,
      ...(server !== undefined && authorize && { authorize: (url: URL) => authorize(server, url) }),
      ...this.options.url,
    });
    const where = { source: label, live: spec.live };
    source.on('connected', (e) => this.emit('stream', { ...where, kind: 'connected', station: e.station, contentType: e.contentType }));
    source.on('lost', (e) => this.emit('stream', { ...where, kind: 'lost', message: e.message, retryInMs: e.retryInMs }));
    source.on('title', (title) => this.emit('stream', { ...where, kind: 'title', title }));
    return source;
  }

  /** Keeps reading a capture that is off air (and dropping its audio), to report when its silence ends. */
  listenOffAir(pcm: string): void {
    this.stopListening();
    const source = this.capture(pcm, true);
    this.offAir = { source, timer: setInterval(() => source.read(OFF_AIR_READ_FRAMES), OFF_AIR_READ_MS) };
  }

  stopListening(): void {
    if (!this.offAir) return;
    clearInterval(this.offAir.timer);
    this.offAir.source.close();
    this.offAir = null;
  }

  private capture(pcm: string, offAir: boolean): CaptureSource {
    const where = { source: `capture:${pcm}`, pcm, offAir };
    const source = new CaptureSource((this.options.device ?? openCaptureDevice)(pcm), {
      silenceMs: this.options.silenceSeconds * 1000,
      silenceThreshold: this.options.silenceThreshold,
      clock: this.options.clock,
      silentAlready: offAir,
    });
    source.on('device-error', (e) => this.emit('capture', { ...where, kind: 'device-error', device: e.device, message: e.message, retryInMs: e.retryInMs }));
    source.on('device-ok', (e) => this.emit('capture', { ...where, kind: 'device-ok', device: e.device, rate: e.rate }));
    source.on('silence', (e) => this.emit('capture', { ...where, kind: 'silence', state: e.state, silentForMs: e.silentForMs }));
    source.on('realigned', (e) => this.emit('capture', { ...where, kind: 'realigned', ...e }));
    return source;
  }

  stop(): void {
    this.stopListening();
  }
}
