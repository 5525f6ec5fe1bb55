// The box process publishes telemetry on MQTT (real broker, real client).

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startBox, waitFor } from '../helpers/box-process.ts';
import { itemAt } from '../../firmware/util/checked-index.ts';
import type { TelemetryMessage } from '../../firmware/extensions/telemetry.ts';

describe('telemetry topic (real box process)', function () {
  this.timeout(60_000);

  it('publishes system, process and stream figures every intervalSeconds, not retained', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-tel-'));
    const box = await startBox(['--box-id', 'tel', '--source', 'silence', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_TELEMETRY__INTERVALSECONDS: '1',
    });
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'tel-watch', protocolVersion: 4 });
    const got: Array<{ retain: boolean; msg: TelemetryMessage }> = [];
    c.on('message', (_t, p, packet) => got.push({ retain: packet.retain, msg: JSON.parse(p.toString()) as TelemetryMessage }));
    try {
      await c.subscribeAsync('nearcast/tel/telemetry');
      await waitFor('two telemetry messages', () => got.length >= 2, 10_000);
      const second = itemAt(got, 1, 'telemetry messages');
      const m = second.msg;
      expect(second.retain).to.equal(false);
      expect(m.loadAverage).to.be.within(0, 100);
      expect(m.box.cpuPercent).to.be.within(0, 200);
      expect(m.memory.totalMB).to.be.greaterThan(0);
      expect(m.box.rssMB).to.be.within(10, 1000);
      expect(m.stream).to.include({ listeners: 0, opus: 'libopus' }); // which Opus runs (native here; 'wasm' is the fallback)
      expect(m.stream.encoding, 'nobody listens: no codec is encoded').to.deep.equal([]);
      expect(m.stream.chunks).to.be.greaterThan(0);
      expect(Date.parse(m.at)).to.be.closeTo(Date.now(), 10_000);
    } finally {
      await c.endAsync();
      expect(await box.stop()).to.equal(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
