// Worker thread that samples the system with `systeminformation`. Several of its
// Linux paths shell out synchronously (cpuTemperature, parts of currentLoad, Wi-Fi),
// which must never stall the audio process's event loop: here they only stall this
// thread. One request at a time.

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
    cpuLoadPercent: Math.round(load.currentLoad * 10) / 10,
    cpuTemperatureC: typeof t === 'number' && Number.isFinite(t) ? t : null, // no sensor (VMs): null
    memory: { totalMB: Math.round(mem.total / 2 ** 20), availableMB: Math.round(mem.available / 2 ** 20) },
    uptimeS: Math.round(si.time().uptime),
    wifi,
  };
}

// currentLoad compares against the previous call: the first answer covers boot time
void si.currentLoad();

parentPort?.on('message', async (req: { id: number }) => {
  try {
    parentPort?.postMessage({ id: req.id, ok: true, sample: await sample() });
  } catch (e) {
    parentPort?.postMessage({ id: req.id, ok: false, error: (e as Error).message });
  }
});
