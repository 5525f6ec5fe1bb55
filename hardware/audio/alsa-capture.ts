// Capture through libasound. The blocking reads live on a worker thread
// (alsa-capture-worker.ts); this class posts one read at a time and converts what
// comes back to interleaved s16 stereo at the device's rate.

import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.ts';
import type { CaptureData, CaptureOpened, CaptureReply, CaptureRequest, CaptureSampleFormat } from './alsa-capture-worker.ts';

const SND_PCM_TYPE_FILE = 3;
const SND_PCM_TYPE_NULL = 4;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** What a capture source needs of a device: the ALSA one, or a test's. */
export interface CaptureDevice {
  readonly name: string;
  /** opens the PCM; resolves with the negotiated rate and whether the device keeps its own time */
  open(): Promise<{ rate: number; clocked: boolean; periodFrames: number }>;
  /** reads up to `frames` frames as s16 stereo (fewer at the end of a file-backed PCM) */
  read(frames: number): Promise<Int16Array>;
  close(): Promise<void>;
}

export class AlsaCapture implements CaptureDevice {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: CaptureOpened | CaptureData | null) => void; reject: (e: Error) => void }>();
  private opened: CaptureOpened | null = null;

  constructor(readonly name: string, private readonly opts: { rate?: number; latencyMs?: number } = {}) {
    if (!name) throw new Error('AlsaCapture: PCM name is empty');
  }

  async open(): Promise<{ rate: number; clocked: boolean; periodFrames: number }> {
    if (this.worker) throw new Error(`AlsaCapture '${this.name}': already open`);
    const w = startWorker('audio/alsa-capture-worker');
    this.worker = w;
    w.on('message', (r: CaptureReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(new Error(r.error));
    });
    w.on('error', (e) => this.failAll(`ALSA capture '${this.name}': worker failed: ${e.message}`));
    w.on('exit', (code) => this.failAll(`ALSA capture '${this.name}': worker exited (${code})`));
    try {
      this.opened = (await this.call({ op: 'open', name: this.name, rate: this.opts.rate ?? 48000, channels: 2, latencyUs: (this.opts.latencyMs ?? 100) * 1000 })) as CaptureOpened;
    } catch (e) {
      await this.terminate();
      throw e;
    }
    const o = this.opened;
    return { rate: o.rate, clocked: o.pcmType !== SND_PCM_TYPE_FILE && o.pcmType !== SND_PCM_TYPE_NULL, periodFrames: o.periodFrames };
  }

  async read(frames: number): Promise<Int16Array> {
    const o = this.opened;
    if (!o) throw new Error(`ALSA capture '${this.name}': not open`);
    const d = (await this.call({ op: 'read', frames })) as CaptureData;
    return toStereoS16(d.data, o.format, o.channels);
  }

  /** Closes the PCM; a worker stuck in a read that never returns is terminated instead. */
  async close(): Promise<void> {
    if (!this.worker) return;
    const closed = this.call({ op: 'close' }).catch(() => undefined);
    const timeout = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 1000).unref());
    await Promise.race([closed, timeout]);
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.opened = null;
    if (w) await w.terminate().catch(() => undefined);
  }

  private call(req: WithoutId<CaptureRequest>): Promise<CaptureOpened | CaptureData | null> {
    const w = this.worker;
    if (!w) return Promise.reject(new Error(`ALSA capture '${this.name}': not open`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...req, id } as CaptureRequest);
    });
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
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
