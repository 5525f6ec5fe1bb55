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
      expect(m.stream.stalls, 'engine stalls are published (a loaded machine may hold the box up past 1 s: not asked to be 0)').to.be.a('number');
      expect(m.speaker, 'no speaker (--audio-device none): no playout figures').to.equal(null);
      expect(Date.parse(m.at)).to.be.closeTo(Date.now(), 10_000);
    } finally {
      await c.endAsync();
      expect(await box.stop()).to.equal(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The speaker is a player like a companion (ARCHITECTURE.md "Playout"): its counters are
  // published, and a resync is logged. Holding the whole box with SIGSTOP lets its simulated
  // device (paced by the clock, 300 ms queued) run dry: when the box runs again, the speaker
  // resyncs, and says that the box itself was late.
  it("publishes the speaker's playout counters, and a resync after the box was held up shows in them and in the log", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-tel-'));
    const box = await startBox(['--box-id', 'tel', '--source', 'tone:440', '--audio-device', 'sim', '--no-keyboard', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_TELEMETRY__INTERVALSECONDS: '1',
    });
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'tel-watch', protocolVersion: 4 });
    const got: TelemetryMessage[] = [];
    c.on('message', (_t, p) => got.push(JSON.parse(p.toString()) as TelemetryMessage));
    const playing = () => got.at(-1)?.speaker?.state === 'playing';
    try {
      await c.subscribeAsync('nearcast/tel/telemetry');
      await waitFor('the speaker playing, in telemetry', playing, 15_000).catch((e: Error) => {
        throw new Error(`${e.message}: last ${JSON.stringify(got.at(-1)?.speaker)}`);
      });
      const before = got.at(-1)!.speaker!;
      expect(before.device, JSON.stringify(before)).to.equal('sim');
      expect(before.syncErrorMs, JSON.stringify(before)).to.be.a('number').and.satisfy(Number.isFinite);
      box.proc.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 800));
      box.proc.kill('SIGCONT');
      const n = got.length;
      await waitFor('a telemetry message counting a speaker resync', () => got.length > n && (got.at(-1)?.speaker?.starvedResyncs ?? 0) > before.starvedResyncs, 10_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}: last ${JSON.stringify(got.at(-1)?.speaker)}; box log ${box.logs.slice(-8).join(' / ')}`);
        },
      );
      const after = got.at(-1)!.speaker!;
      // every resync the message counts was logged before it was sent
      const told = () => box.logs.filter((l) => l.includes('speaker resync'));
      await waitFor('the resyncs in the log', () => told().length >= after.resyncs, 5000).catch((e: Error) => {
        throw new Error(`${e.message}: telemetry ${JSON.stringify(after)}; log ${told().join(' / ')}`);
      });
      expect(
        told().some((l) => /ms off \(the device ran dry: this player's next audio came \d+ ms after its queue ran out/.test(l)),
        `the log says why: ${told().join(' / ')}`,
      ).to.equal(true);
      expect(after.insertedFrames + after.droppedFrames, JSON.stringify(after)).to.be.greaterThan(before.insertedFrames + before.droppedFrames);
    } finally {
      await c.endAsync();
      expect(await box.stop()).to.equal(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
