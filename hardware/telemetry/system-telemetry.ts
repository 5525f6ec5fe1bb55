// System telemetry (load average, temperature, memory, uptime, Wi-Fi link), cheap
// calls only and none that blocks: systeminformation's memory (an async read of
// /proc/meminfo); load and uptime from os; temperature and Wi-Fi read from /sys and
// /proc with async reads here, because systeminformation gets those through execSync
// on Linux, which would stall the audio process's event loop.

import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// only systeminformation's memory module: the whole package costs the box ~10 MB of RSS
import siMemory from 'systeminformation/lib/memory.js';

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
  constructor(private readonly root = { proc: '/proc', thermal: '/sys/class/thermal' }) {}

  async sample(): Promise<SystemSample> {
    const [mem, temp, wifi] = await Promise.all([siMemory.mem(), this.temperature(), this.wifiLink()]);
    return {
      loadAverage: Math.round(os.loadavg()[0]! * 100) / 100, // loadavg() always returns three averages
      cpuTemperatureC: temp,
      memory: { totalMB: Math.round(mem.total / 2 ** 20), availableMB: Math.round(mem.available / 2 ** 20) },
      uptimeS: Math.round(os.uptime()),
      wifi,
    };
  }

  /** the CPU's thermal zone (cpu-thermal on a Pi; else the hottest), °C */
  private async temperature(): Promise<number | null> {
    let zones: string[];
    try {
      zones = (await readdir(this.root.thermal)).filter((z) => z.startsWith('thermal_zone'));
    } catch {
      return null; // no thermal zones (VMs)
    }
    const read = async (z: string) => {
      try {
        const [type, t] = await Promise.all([readFile(path.join(this.root.thermal, z, 'type'), 'utf8'), readFile(path.join(this.root.thermal, z, 'temp'), 'utf8')]);
        const c = Number(t) / 1000;
        return Number.isFinite(c) ? { type: type.trim(), c } : null;
      } catch {
        return null;
      }
    };
    const all = (await Promise.all(zones.map(read))).filter((x): x is { type: string; c: number } => !!x);
    if (all.length === 0) return null;
    const cpu = all.find((z) => /cpu|soc|x86_pkg/i.test(z.type));
    return Math.round((cpu ?? all.reduce((a, b) => (b.c > a.c ? b : a))).c * 10) / 10;
  }

  /** the first wireless interface in /proc/net/wireless: link quality and signal (dBm) */
  private async wifiLink(): Promise<SystemSample['wifi']> {
    let text: string;
    try {
      text = await readFile(path.join(this.root.proc, 'net/wireless'), 'utf8');
    } catch {
      return null;
    }
    // Inter-| sta-|   Quality        |  ...
    //  face | tus | link level noise |  ...
    //  wlan0: 0000   70.  -40.  -256 ...
    const line = text
      .split('\n')
      .slice(2)
      .find((l) => l.includes(':'));
    if (!line) return null;
    const colon = line.indexOf(':');
    const iface = line.slice(0, colon);
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const quality = Number.parseFloat(f[1] ?? ''); // a missing column reads as NaN, reported as null
    const signal = Number.parseFloat(f[2] ?? '');
    return { interface: iface.trim(), quality: Number.isFinite(quality) ? quality : null, signalDbm: Number.isFinite(signal) ? signal : null };
  }
}
