// System telemetry (load, temperature, memory, uptime, Wi-Fi link) sampled on a
// worker thread (telemetry-worker.ts), so its synchronous shell-outs never delay audio.

import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.ts';

export interface SystemSample {
  cpuLoadPercent: number;
  /** null where the board has no sensor */
  cpuTemperatureC: number | null;
  memory: { totalMB: number; availableMB: number };
  uptimeS: number;
  /** null without a wireless interface */
  wifi: { interface: string; quality: number | null; signalDbm: number | null } | null;
}

export class SystemTelemetry {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (s: SystemSample) => void; reject: (e: Error) => void }>();

  start(): void {
    if (this.worker) return;
    const w = startWorker('telemetry/telemetry-worker');
    w.unref(); // telemetry never keeps the box alive
    w.on('message', (m: { id: number; ok: boolean; sample?: SystemSample; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.sample!);
      else p.reject(new Error(`telemetry: ${m.error}`));
    });
    w.on('error', (e) => this.failAll(`telemetry worker failed: ${e.message}`));
    w.on('exit', () => { this.worker = null; this.failAll('telemetry worker exited'); });
    this.worker = w;
  }

  sample(timeoutMs = 10_000): Promise<SystemSample> {
    const w = this.worker;
    if (!w) return Promise.reject(new Error('telemetry: not started'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.pending.delete(id); reject(new Error(`telemetry: no sample within ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(id, { resolve: (s) => { clearTimeout(t); resolve(s); }, reject: (e) => { clearTimeout(t); reject(e); } });
      w.postMessage({ id });
    });
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
  }
}
