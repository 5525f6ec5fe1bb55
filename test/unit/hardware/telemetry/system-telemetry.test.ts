import { expect } from 'chai';
import { SystemTelemetry } from '../../../../hardware/telemetry/system-telemetry.ts';

describe('SystemTelemetry (systeminformation on a worker thread)', function () {
  this.timeout(30_000);

  it('samples load, memory, uptime; a missing sensor or Wi-Fi is null, not an error', async () => {
    const t = new SystemTelemetry();
    {
      const s = await t.sample();
      expect(s.loadAverage).to.be.within(0, 100);
      expect(s.memory.totalMB).to.be.greaterThan(100);
      expect(s.memory.availableMB).to.be.within(1, s.memory.totalMB);
      expect(s.uptimeS).to.be.greaterThan(0);
      expect(s.cpuTemperatureC === null || (s.cpuTemperatureC > -40 && s.cpuTemperatureC < 130)).to.equal(true);
      expect(s.wifi === null || typeof s.wifi.interface === 'string').to.equal(true);
    }
  });

  it('never stalls the event loop while sampling (its shell-outs run on the worker)', async () => {
    const t = new SystemTelemetry();
    let worst = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last - 5);
      last = now;
    }, 5);
    try {
      for (let i = 0; i < 5; i++) await t.sample();
    } finally {
      clearInterval(ticker);
    }
    expect(worst, 'longest event-loop delay (ms)').to.be.lessThan(50);
  });

});
