// Live input as the box runs it: opens capture sources with the configured silence
// rule, turns their device and silence reports into events, and in kiosk use falls
// back to the library while a capture stays silent — listening on in the background
// and switching back when sound returns.

import { AlsaCapture, type CaptureDevice } from '../../hardware/audio/alsa-capture.ts';
import { defaultOpenSource, type SourceSpec } from '../audio/engine.ts';
import { CaptureSource } from '../audio/sources/capture-source.ts';
import type { PcmSource } from '../audio/types.ts';

export interface LiveInputOptions {
  silenceSeconds: number;
  silenceThreshold: number;
  fallback: 'none' | 'library';
  event(name: string, payload: object): void;
  log(level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
  /** switch what the box plays ('library' or a source spec) */
  select(source: string): void;
  /** the current source label ('library', 'capture:…') */
  current(): string;
  device?: (pcm: string) => CaptureDevice;
  clock?: () => number; // µs (tests)
}

export class LiveInput {
  private watcher: { source: CaptureSource; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly o: LiveInputOptions) {}

  /** The engine's source factory: captures get the silence rule and event reporting. */
  openSource = (spec: SourceSpec): PcmSource => {
    if (spec.kind !== 'capture') return defaultOpenSource(spec);
    this.stopWatching(); // the capture is back on air
    return this.capture(spec.pcm, false);
  };

  private capture(pcm: string, watching: boolean): CaptureSource {
    const label = `capture:${pcm}`;
    const src = new CaptureSource((this.o.device ?? ((p) => new AlsaCapture(p)))(pcm), {
      silenceMs: this.o.silenceSeconds * 1000, silenceThreshold: this.o.silenceThreshold, clock: this.o.clock, silentAlready: watching,
    });
    src.on('device-error', (e) => {
      this.o.log('warn', 'capture device problem; retrying', { device: e.device, error: e.message, retryInMs: e.retryInMs });
      this.o.event('error', { source: label, device: e.device, message: e.message, retryInMs: e.retryInMs });
    });
    src.on('device-ok', (e) => this.o.event('capture', { source: label, state: 'ok', device: e.device, rate: e.rate }));
    src.on('silence', (e) => {
      this.o.event('silence', { source: label, state: e.state, silentForMs: Math.round(e.silentForMs) });
      if (this.o.fallback !== 'library') return;
      if (e.state === 'start' && !watching && this.o.current() === label) {
        this.o.log('info', 'capture silent: playing the library until sound returns', { source: label });
        this.o.select('library'); // closes this source; a watcher keeps listening
        this.watch(pcm);
      } else if (e.state === 'end' && watching) {
        this.o.log('info', 'sound on the capture again: back to it', { source: label });
        this.stopWatching();
        this.o.select(label);
      }
    });
    return src;
  }

  /** listens to a capture that is off air, for its silence to end */
  private watch(pcm: string): void {
    this.stopWatching();
    const source = this.capture(pcm, true);
    // drive it like the engine would, one chunk per 20 ms, and drop the audio
    const timer = setInterval(() => source.read(960), 20);
    this.watcher = { source, timer };
  }

  private stopWatching(): void {
    if (!this.watcher) return;
    clearInterval(this.watcher.timer);
    this.watcher.source.close();
    this.watcher = null;
  }

  stop(): void {
    this.stopWatching();
  }
}
