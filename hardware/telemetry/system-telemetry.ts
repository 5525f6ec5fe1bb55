// System telemetry (load average, temperature, memory, uptime, Wi-Fi link): each
// sample is taken by a short-lived worker thread (telemetry-worker.ts), so
// systeminformation's synchronous shell-outs never delay audio and its heap is not
// kept between samples.

import { startWorker } from '../worker-thread.ts';

export interface SystemSample {
  /** 1-minute load average */
  loadAverage: number;
  /** null where the board has no sensor */
  cpuTemperatureC: number | null;
  memory: { totalMB: number; availableMB: number };
  uptimeS: number;
  /** null without a wireless interface */
  wifi: { interface: string; quality: number | null; signalDbm: number | null } | null;
}

export class SystemTelemetry {
  sample(timeoutMs = 10_000): Promise<SystemSample> {
    const w = startWorker('telemetry/telemetry-worker');
    return new Promise<SystemSample>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`telemetry: no sample within ${timeoutMs} ms`)), timeoutMs);
      w.once('message', (m: { ok: boolean; sample?: SystemSample; error?: string }) => {
        clearTimeout(t);
        if (m.ok) resolve(m.sample!);
        else reject(new Error(`telemetry: ${m.error}`));
      });
      w.once('error', (e) => { clearTimeout(t); reject(new Error(`telemetry worker failed: ${e.message}`)); });
    }).finally(() => void w.terminate());
  }
}
