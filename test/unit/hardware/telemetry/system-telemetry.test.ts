import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SystemTelemetry } from '../../../../hardware/telemetry/system-telemetry.ts';

describe('SystemTelemetry', function () {
  this.timeout(30_000);

  it('samples this machine: load, memory, uptime; a missing sensor or Wi-Fi is null, not an error', async () => {
    const s = await new SystemTelemetry().sample();
    expect(s.loadAverage).to.be.within(0, 100);
    expect(s.memory.totalMB).to.be.greaterThan(100);
    expect(s.memory.availableMB).to.be.within(1, s.memory.totalMB);
    expect(s.uptimeS).to.be.greaterThan(0);
    expect(s.cpuTemperatureC === null || (s.cpuTemperatureC > -40 && s.cpuTemperatureC < 130)).to.equal(true);
    expect(s.wifi === null || typeof s.wifi.interface === 'string').to.equal(true);
  });

  it("reads a Pi's CPU thermal zone and Wi-Fi link (fake /sys and /proc)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-tel-'));
    try {
      for (const [z, type, t] of [
        ['thermal_zone0', 'cpu-thermal', '48312'],
        ['thermal_zone1', 'gpu', '71000'],
      ] as const) {
        mkdirSync(path.join(dir, 'thermal', z), { recursive: true });
        writeFileSync(path.join(dir, 'thermal', z, 'type'), type + '\n');
        writeFileSync(path.join(dir, 'thermal', z, 'temp'), t + '\n');
      }
      mkdirSync(path.join(dir, 'proc', 'net'), { recursive: true });
      writeFileSync(
        path.join(dir, 'proc', 'net', 'wireless'),
        'Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n  wlan0: 0000   58.  -52.  -256        0      0      0      0     12        0\n',
      );
      const s = await new SystemTelemetry({ proc: path.join(dir, 'proc'), thermal: path.join(dir, 'thermal') }).sample();
      expect(s.cpuTemperatureC).to.equal(48.3);
      expect(s.wifi).to.deep.equal({ interface: 'wlan0', quality: 58, signalDbm: -52 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A sampler that blocks (systeminformation's execSync) stalls the loop in every round; a busy
  // machine stalls it now and then whatever runs. So: up to three rounds of five samples, each
  // beside a round of the same length without sampling, and one round within the bound suffices.
  it('never stalls the event loop while sampling', async () => {
    const t = new SystemTelemetry();
    const worstGap = async (during: () => Promise<unknown>) => {
      let worst = 0;
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last - 5);
        last = now;
      }, 5);
      try {
        await during();
      } finally {
        clearInterval(ticker);
      }
      return worst;
    };
    const rounds: string[] = [];
    for (let round = 0; round < 3; round++) {
      const began = performance.now();
      const sampling = await worstGap(async () => {
        for (let i = 0; i < 5; i++) await t.sample();
      });
      const took = performance.now() - began;
      const idle = await worstGap(() => new Promise((r) => setTimeout(r, took)));
      rounds.push(`sampling ${sampling.toFixed(1)} ms, idle ${idle.toFixed(1)} ms (${took.toFixed(0)} ms)`);
      if (sampling < 50) return;
    }
    expect.fail(`the longest event-loop delay while sampling was over 50 ms in every round: ${rounds.join('; ')}`);
  });
});
