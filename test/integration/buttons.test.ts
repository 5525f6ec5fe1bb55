// Buttons and LEDs on a real box process: the gpiod backend driving a fake
// gpiomon (the real backend code parses its output) and a stand-in libgpiod found
// through LD_LIBRARY_PATH (the real koffi binding writes the LED levels into it),
// and the simulated twin's MQTT topic.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { makeFakeGpiod } from '../helpers/fake-gpiod.ts';
import { hashPassword } from '../../firmware/config/password.ts';

describe('buttons and LEDs (real box process)', function () {
  this.timeout(60_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let client: mqtt.MqttClient | null = null;
  /** events and the retained state: the fields read here */
  const seen: Array<{ topic: string; msg: { sharing?: { open?: boolean }; message?: string; [field: string]: unknown } }> = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-buttons-'));
    seen.length = 0;
  });
  afterEach(async () => {
    await client?.endAsync();
    client = null;
    if (box) expect(await box.stop()).to.equal(0);
    box = null;
    rmSync(dir, { recursive: true, force: true });
  });

  async function watch(b: BoxProcess, opts: mqtt.IClientOptions = {}) {
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.ports.mqtt}`, { protocolVersion: 4, ...opts });
    client.on('message', (topic, p) => {
      try {
        seen.push({ topic, msg: JSON.parse(p.toString()) });
      } catch {
        /* not JSON */
      }
    });
    await client.subscribeAsync([`nearcast/${b.boxId}/event/#`, `nearcast/${b.boxId}/state`]);
    return client;
  }
  const lastState = () => [...seen].reverse().find((s) => s.topic.endsWith('/state'))?.msg;

  it('GPIO through libgpiod v2: a press on the share line opens the share window and its LED blinks', async () => {
    const fake = makeFakeGpiod(dir, 2);
    box = await startBox(['--box-id', 'gp', '--source', 'silence', '--audio-device', 'none', '--state-dir', path.join(dir, 'state')], {
      ...fake.env,
      NEARCAST_HARDWARE__BUTTONS__BACKEND: 'gpiod',
      NEARCAST_HARDWARE__BOARD: 'pi4',
    });
    await watch(box, { clientId: 'w1' });
    await waitFor('gpiomon watching', () => fake.calls().some((c) => c.startsWith('gpiomon')), 5000);
    // one gpiomon: a second on the same lines is refused as busy by libgpiod v2 (and was left running at stop)
    expect(fake.calls().filter((c) => c.startsWith('gpiomon'))).to.deep.equal(['gpiomon --chip gpiochip0 --active-low --bias=pull-up --edges=both --format=%o %e 17 27 22 23 24']);
    fake.edge(17, true);
    await new Promise((r) => setTimeout(r, 100));
    fake.edge(17, false); // a 100 ms press: a click, once the double-click window passes
    await waitFor('event/button', () => seen.some((s) => s.topic.endsWith('/event/button')), 5000);
    expect(seen.find((s) => s.topic.endsWith('/event/button'))!.msg).to.deep.equal({ button: 'share', gesture: 'click' });
    await waitFor('share window open in state', () => lastState()?.sharing?.open === true, 5000);
    // the share LED (line 25) blinks: one line request held through libgpiod, then writes; no process per change
    await waitFor(
      'share LED blinking',
      () => {
        const log = fake.library.log();
        return log.includes('set 25 1') && log.includes('set 25 0');
      },
      5000,
    );
    const log = fake.library.log();
    expect(log[0]).to.equal('open /dev/gpiochip0');
    expect(log.filter((l) => l.startsWith('request 25 '))).to.have.length(1);
    expect(
      fake.calls().filter((c) => !c.startsWith('gpiomon')),
      'processes besides gpiomon',
    ).to.deep.equal([]);
  });

  it('simulated: the owner presses buttons over sim/button; malformed presses are reported; guests may not press', async () => {
    box = await startBox(['--sim', '--no-keyboard', '--box-id', 'sb', '--source', 'silence', '--audio-device', 'none', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
    });
    const owner = await watch(box, { clientId: 'own', username: 'owner', password: 'pw' });
    await owner.publishAsync('nearcast/sb/sim/button', JSON.stringify({ button: 'share', gesture: 'click' }));
    await waitFor('share window open', () => lastState()?.sharing?.open === true, 5000);
    await owner.publishAsync('nearcast/sb/sim/button', '{"button":"power"}');
    await waitFor('error event', () => seen.some((s) => s.topic.endsWith('/event/error') && /sim\/button/.test(s.msg.message ?? '')), 5000);
    const guest = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'g1', protocolVersion: 4, reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => guest.once('close', () => r()));
    guest.publish('nearcast/sb/sim/button', JSON.stringify({ button: 'share', gesture: 'long' }));
    await closed;
    await new Promise((r) => setTimeout(r, 300));
    expect(lastState()?.sharing?.open).to.equal(true); // the guest's long press did nothing
    guest.end(true);
  });
});
