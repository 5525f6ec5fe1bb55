// Worker thread that takes one system sample with `systeminformation` and ends.
// Several of its Linux paths shell out synchronously (cpuTemperature, currentLoad,
// Wi-Fi), which must never stall the audio process's event loop: here they only
// stall this thread. It lives only for the sample, so the box does not carry a
// second JavaScript heap (~20 MB) between samples.

import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import si from 'systeminformation';
import type { SystemSample } from './system-telemetry.ts';

/** the first wireless interface in /proc/net/wireless: link quality and signal (dBm) */
async function wifiLink(): Promise<SystemSample['wifi']> {
  let text: string;
  try {
    text = await readFile('/proc/net/wireless', 'utf8');
  } catch {
    return null; // no wireless extensions: no Wi-Fi here
  }
  // Inter-| sta-|   Quality        |   Discarded packets ...
  //  face | tus | link level noise |  nwid  crypt ...
  //  wlan0: 0000   70.  -40.  -256 ...
  const line = text.split('\n').slice(2).find((l) => l.includes(':'));
  if (!line) return null;
  const [iface, rest] = line.split(':');
  const f = rest.trim().split(/\s+/);
  const quality = Number.parseFloat(f[1]);
  const signal = Number.parseFloat(f[2]);
  return { interface: iface.trim(), quality: Number.isFinite(quality) ? quality : null, signalDbm: Number.isFinite(signal) ? signal : null };
}

async function sample(): Promise<SystemSample> {
  const [load, temp, mem, wifi] = await Promise.all([si.currentLoad(), si.cpuTemperature(), si.mem(), wifiLink()]);
  const t = temp.main;
  return {
    loadAverage: Math.round(load.avgLoad * 100) / 100,
    cpuTemperatureC: typeof t === 'number' && Number.isFinite(t) ? t : null, // no sensor (VMs): null
    memory: { totalMB: Math.round(mem.total / 2 ** 20), availableMB: Math.round(mem.available / 2 ** 20) },
    uptimeS: Math.round(si.time().uptime),
    wifi,
  };
}

sample().then(
  (s) => parentPort?.postMessage({ ok: true, sample: s }),
  (e: Error) => parentPort?.postMessage({ ok: false, error: e.message }),
);
