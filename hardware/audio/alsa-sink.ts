// Playback through libasound. The blocking calls live on a worker thread
// (alsa-worker.ts); this class only posts messages and, for unclocked plugins
// (null, file: they swallow audio instantly and report delay 0), paces writes
// against the monotonic clock so players still run in real time with real delays.

import type { PcmFormat } from '../../firmware/wire/format.ts';
import type { PcmSink, SinkStatus } from './pcm-sink.ts';
import type { AlsaOpened, AlsaOperations } from './alsa-worker.ts';
import { WorkerRpc, type CallOptions } from '../worker-rpc.ts';
import { PacedClock, realSinkClock, waitForRoom, type SinkClock } from './paced-clock.ts';

const SND_PCM_TYPE_FILE = 3;
const SND_PCM_TYPE_NULL = 4;
// external plugins: sound servers (pulse, PipeWire's ALSA plugin, jack) live here
const SND_PCM_TYPE_IOPLUG = 28;
const SND_PCM_TYPE_EXTPLUG = 29;
// A sound server reschedules its clients in tens of ms (and stops a client that
// ran dry without an xrun): keep this much queued there. A hardware DAC needs less.
const SOUND_SERVER_QUEUE_MS = 150;

export interface AlsaSinkOptions {
  /** requested device latency (buffer), ms; default 100 */
  latencyMs?: number;
  /** let ALSA resample when the device lacks the rate; default true */
  softResample?: boolean;
  /** clock used to pace unclocked plugins (tests); default monotonic */
  clock?: SinkClock;
}

export class AlsaSink implements PcmSink {
  readonly name: string;
  private isClocked = true;
  private queueMs: number | undefined;
  private readonly latencyMs: number;
  private readonly softResample: boolean;
  private readonly clock: SinkClock;
  private worker: WorkerRpc<AlsaOperations> | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private opened: AlsaOpened | null = null;
  private paced: PacedClock | null = null;
  private deviceUnderruns = 0;
  /** frames written in a row that the device reported as already played */
  private instantFrames = 0;

  constructor(
    pcmName: string,
    readonly format: PcmFormat,
    opts: AlsaSinkOptions = {},
  ) {
    if (!pcmName) throw new Error('AlsaSink: PCM name is empty');
    if (format.bitsPerSample !== 16) throw new Error(`AlsaSink: only 16-bit PCM is supported, got ${format.bitsPerSample}`);
    if (!Number.isInteger(format.channels) || format.channels < 1 || !Number.isInteger(format.sampleRate) || format.sampleRate < 1) {
      throw new Error(`AlsaSink: bad format ${JSON.stringify(format)}`);
    }
    this.latencyMs = opts.latencyMs ?? 100;
    if (!Number.isFinite(this.latencyMs) || this.latencyMs <= 0) throw new Error(`AlsaSink: latencyMs must be positive, got ${opts.latencyMs}`);
    this.softResample = opts.softResample ?? true;
    this.clock = opts.clock ?? realSinkClock;
    this.name = pcmName;
  }

  /** false once the PCM turned out to be an unclocked plugin that we pace ourselves */
  get clocked(): boolean {
    return this.isClocked;
  }

  /** buffer and period sizes ALSA granted (after open) */
  get geometry(): { bufferFrames: number; periodFrames: number } | null {
    return this.opened && { bufferFrames: this.opened.bufferFrames, periodFrames: this.opened.periodFrames };
  }

  async open(): Promise<void> {
    if (this.worker) throw new Error(`AlsaSink '${this.name}': already open`);
    this.worker = WorkerRpc.start<AlsaOperations>('audio/alsa-worker', `AlsaSink '${this.name}'`);
    try {
      this.opened = await this.call('open', {
        name: this.name,
        rate: this.format.sampleRate,
        channels: this.format.channels,
        latencyUs: Math.round(this.latencyMs * 1000),
        softResample: this.softResample,
      });
    } catch (err) {
      await this.stopWorker();
      throw err;
    }
    const t = this.opened.pcmType;
    if (t === SND_PCM_TYPE_FILE || t === SND_PCM_TYPE_NULL) this.becomeUnclocked();
    if (t === SND_PCM_TYPE_IOPLUG || t === SND_PCM_TYPE_EXTPLUG) {
      const bufferMs = (this.opened.bufferFrames * 1000) / this.format.sampleRate;
      const periodMs = (this.opened.periodFrames * 1000) / this.format.sampleRate;
      this.queueMs = Math.max(20, Math.min(SOUND_SERVER_QUEUE_MS, bufferMs - 2 * periodMs));
    }
  }

  /** the delay is a sound server's interpolation (an external I/O plugin such as `pulse`), after open */
  get interpolatedDelay(): boolean {
    return this.opened?.pcmType === SND_PCM_TYPE_IOPLUG;
  }

  /** Drops what is queued and prepares the device again (ALSA's `pulse`: a new stream). */
  async restart(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.call('restart', {});
  }

  /** what a player should keep queued here (after open); undefined: its default */
  get preferredQueueMs(): number | undefined {
    return this.queueMs;
  }

  write(pcm: Int16Array): Promise<SinkStatus> {
    // One write at a time, in order: the pacing below must see writes sequentially.
    const next = this.tail.then(() => this.writeNow(pcm));
    this.tail = next.catch(() => undefined);
    return next;
  }

  async status(): Promise<SinkStatus> {
    const s = await this.call('status', {});
    this.deviceUnderruns = s.underruns;
    return this.paced ? this.pacedStatus() : s;
  }

  /** Blocks (off-thread) until everything queued has played; the sink stays open. */
  async drain(): Promise<void> {
    await this.tail;
    await this.call('drain', {});
    if (this.paced) await this.clock.sleepUs(this.paced.delayFrames(this.clock.nowUs()) * (1e6 / this.format.sampleRate));
  }

  /** Stops playback at once and releases the device. */
  async close(): Promise<void> {
    if (!this.worker) return;
    if (!this.worker.running) {
      // the worker died (every call since has failed with the reason): nothing left to release
      this.worker = null;
      return;
    }
    await this.tail.catch(() => undefined);
    try {
      await this.call('close', {});
    } finally {
      await this.stopWorker();
    }
  }

  private async writeNow(pcm: Int16Array): Promise<SinkStatus> {
    const ch = this.format.channels;
    if (pcm.length % ch !== 0) {
      throw new Error(`AlsaSink '${this.name}': ${pcm.length} samples is not a whole number of ${ch}-channel frames`);
    }
    const frames = pcm.length / ch;
    if (this.paced) await waitForRoom(this.paced, frames, this.clock);
    // Copy so the caller may reuse its buffer; the copy's memory moves to the worker.
    const copy = new Int16Array(pcm);
    const s = await this.call('write', { data: copy.buffer, frames }, { transfer: [copy.buffer] });
    this.deviceUnderruns = s.underruns;
    // Heuristic for unclocked plugins that snd_pcm_type hides (e.g. behind plug):
    // a real device cannot have played a whole period the instant it was written.
    if (!this.paced && this.opened) {
      this.instantFrames = s.delayFrames === 0 ? this.instantFrames + frames : 0;
      if (this.instantFrames >= this.opened.periodFrames) this.becomeUnclocked();
    }
    if (!this.paced) return s;
    this.paced.commit(frames, this.clock.nowUs());
    return this.pacedStatus();
  }

  private becomeUnclocked(): void {
    this.isClocked = false;
    const bufferFrames = Math.max(1, Math.round((this.format.sampleRate * this.latencyMs) / 1000));
    this.paced = new PacedClock(this.format.sampleRate, bufferFrames);
  }

  private pacedStatus(): SinkStatus {
    const paced = this.paced!;
    const atUs = this.clock.nowUs();
    return { delayFrames: Math.round(paced.delayFrames(atUs)), atUs, underruns: this.deviceUnderruns + paced.underruns };
  }

  private call<Op extends keyof AlsaOperations>(op: Op, request: AlsaOperations[Op]['request'], options?: CallOptions): Promise<AlsaOperations[Op]['result']> {
    if (!this.worker) return Promise.reject(new Error(`AlsaSink '${this.name}': not open`));
    return this.worker.call(op, request, options);
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}
