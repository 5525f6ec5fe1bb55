// Capture through libasound. The blocking reads live on a worker thread
// (alsa-capture-worker.ts); this class posts one read at a time and converts what
// comes back to interleaved s16 stereo at the device's rate.

import { WorkerRpc } from '../worker-rpc.ts';
import type { CaptureOpened, CaptureOperations, CaptureSampleFormat } from './alsa-capture-worker.ts';

const SND_PCM_TYPE_FILE = 3;
const SND_PCM_TYPE_NULL = 4;
const SND_PCM_TYPE_IOPLUG = 28;

/** how long a close may wait for a read that never returns before the worker is terminated */
const CLOSE_TIMEOUT_MS = 1000;

/** Where the device stood when a read returned: the basis of the capture clock. */
export interface CaptureReading {
  /** monotonic µs when the read returned */
  atUs: number;
  /** frames captured but not yet read at that instant (NaN: the device cannot tell) */
  delayFrames: number;
  /** overruns since open: frames the device lost, so the frame count jumped */
  overruns: number;
}

/** An open capture device: its rate, whether it keeps its own time, and what its delay report is. */
export interface CaptureOpenInfo {
  rate: number;
  clocked: boolean;
  periodFrames: number;
  /** the delay is a sound server's interpolation (ALSA's external I/O plugins, `pulse`): it can report a backlog that is not there while the stream starts */
  interpolatedDelay?: boolean;
}

/** What a capture source needs of a device: the ALSA one, or a test's. */
export interface CaptureDevice {
  readonly name: string;
  /** opens the PCM */
  open(): Promise<CaptureOpenInfo>;
  /** reads up to `frames` frames as s16 stereo (fewer at the end of a file-backed PCM) */
  read(frames: number): Promise<Int16Array>;
  /** the reading taken with the last read; a device without one is read as "captured when the read returned" */
  readonly lastReading?: CaptureReading | null;
  close(): Promise<void>;
}

export class AlsaCapture implements CaptureDevice {
  private worker: WorkerRpc<CaptureOperations> | null = null;
  private opened: CaptureOpened | null = null;
  lastReading: CaptureReading | null = null;

  constructor(
    readonly name: string,
    private readonly opts: { rate?: number; latencyMs?: number } = {},
  ) {
    if (!name) throw new Error('AlsaCapture: PCM name is empty');
  }

  async open(): Promise<CaptureOpenInfo> {
    if (this.worker) throw new Error(`AlsaCapture '${this.name}': already open`);
    const worker = WorkerRpc.start<CaptureOperations>('audio/alsa-capture-worker', `ALSA capture '${this.name}'`);
    this.worker = worker;
    try {
      this.opened = await worker.call('open', { name: this.name, rate: this.opts.rate ?? 48000, channels: 2, latencyUs: (this.opts.latencyMs ?? 100) * 1000 });
    } catch (e) {
      await this.terminate();
      throw e;
    }
    const { rate, pcmType, periodFrames } = this.opened;
    return { rate, clocked: pcmType !== SND_PCM_TYPE_FILE && pcmType !== SND_PCM_TYPE_NULL, periodFrames, interpolatedDelay: pcmType === SND_PCM_TYPE_IOPLUG };
  }

  async read(frames: number): Promise<Int16Array> {
    const opened = this.opened;
    if (!opened || !this.worker) throw new Error(`ALSA capture '${this.name}': not open`);
    const captured = await this.worker.call('read', { frames });
    this.lastReading = { atUs: captured.atUs, delayFrames: captured.delayFrames, overruns: captured.overruns };
    return toStereoS16(captured.data, opened.format, opened.channels);
  }

  /** Closes the PCM; a worker stuck in a read that never returns is terminated instead. */
  async close(): Promise<void> {
    if (!this.worker) return;
    await this.worker.call('close', {}, { timeoutMs: CLOSE_TIMEOUT_MS }).catch(() => undefined);
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.opened = null;
    this.lastReading = null;
    await worker?.terminate();
  }
}

/** Interleaved samples in a device format → interleaved s16 stereo (mono doubled, extra channels dropped). */
export function toStereoS16(data: ArrayBuffer, format: CaptureSampleFormat, channels: number): Int16Array {
  const src = format === 's16' ? new Int16Array(data) : format === 's32' ? new Int32Array(data) : new Float32Array(data);
  const frames = Math.floor(src.length / channels);
  const out = new Int16Array(frames * 2);
  const conv = format === 's16' ? (x: number) => x : format === 's32' ? (x: number) => x >> 16 : (x: number) => Math.max(-32768, Math.min(32767, Math.round(x * 32767)));
  for (let i = 0; i < frames; i++) {
    const l = conv(src[i * channels]!); // i < frames = floor(src.length / channels)
    const r = channels > 1 ? conv(src[i * channels + 1]!) : l;
    out[2 * i] = l;
    out[2 * i + 1] = r;
  }
  return out;
}
