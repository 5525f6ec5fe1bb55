// Home Assistant discovery against a real box process and real MQTT clients: the
// device's entities and button triggers appear, are announced again when Home
// Assistant comes online, and its commands (as the owner) reach the box.

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { hashPassword } from '../../firmware/config/password.ts';

describe('Home Assistant discovery (real box process)', function () {
  this.timeout(60_000);
  let dir: string;
  let box: BoxProcess;
  let ha: mqtt.MqttClient;
  const configs = new Map<string, Record<string, unknown>>();
  let announcements = 0;
  let state: Record<string, unknown> = {};

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-ha-'));
    writeFileSync(path.join(dir, 'box.yaml'), 'sources: ["tone:440"]\n');
    box = await startBox(
      ['--config', path.join(dir, 'box.yaml'), '--box-id', 'hab', '--source', 'silence', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')],
      { NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw') },
    );
    ha = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'home-assistant', username: 'owner', password: 'pw', protocolVersion: 4 });
    ha.on('message', (topic, p) => {
      if (topic.startsWith('homeassistant/') && topic.endsWith('/config') && p.length) {
        configs.set(topic, JSON.parse(p.toString()));
        announcements++;
      }
      if (topic === 'nearcast/hab/state') state = JSON.parse(p.toString());
    });
    await ha.subscribeAsync(['homeassistant/+/hab/+/config', 'nearcast/hab/state']);
    await waitFor('retained configs', () => configs.size >= 19, 5000);
  });
  after(async () => {
    await ha?.endAsync();
    if (box) expect(await box.stop()).to.equal(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces volume, source, buttons and a trigger per button gesture, tied to one device', () => {
    const vol = configs.get('homeassistant/number/hab/volume/config')!;
    expect(vol).to.include({ command_topic: 'nearcast/hab/ha/volume/set', state_topic: 'nearcast/hab/state', min: 0, max: 100 });
    const src = configs.get('homeassistant/select/hab/source/config')!;
    expect(src.options).to.deep.equal(['library', 'silence', 'tone:440']);
    expect(configs.get('homeassistant/button/hab/next/config')).to.include({ command_topic: 'nearcast/hab/ha/next/set' });
    const trig = configs.get('homeassistant/device_automation/hab/share_long/config')!;
    expect(trig).to.include({
      automation_type: 'trigger',
      topic: 'nearcast/hab/event/button',
      type: 'button_long_press',
      subtype: 'share',
      payload: '{"button":"share","gesture":"long"}',
    });
    const devices = new Set([...configs.values()].map((c) => JSON.stringify((c.device as { identifiers: string[] }).identifiers)));
    expect([...devices]).to.deep.equal(['["nearcast_hab"]']);
  });

  it('announces again when Home Assistant comes online', async () => {
    const before = announcements;
    await ha.publishAsync('homeassistant/status', 'online');
    await waitFor('configs republished', () => announcements >= before + configs.size, 5000);
  });

  it('volume and source commands from Home Assistant (the owner) reach the box', async () => {
    await ha.publishAsync('nearcast/hab/ha/volume/set', '37');
    await waitFor('volume 37', () => state.volume === 37, 5000);
    await ha.publishAsync('nearcast/hab/ha/source/set', 'tone:440');
    await waitFor('source tone:440', () => state.source === 'tone:440', 5000);
  });

  it('a guest cannot command the box through the Home Assistant topics', async () => {
    const guest = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'guest1', protocolVersion: 4, reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => guest.once('close', () => r()));
    guest.publish('nearcast/hab/ha/volume/set', '1');
    await closed; // refused publishes disconnect (MQTT 3.1.1 has no per-message refusal)
    await new Promise((r) => setTimeout(r, 300));
    expect(state.volume).to.equal(37);
    guest.end(true);
  });
});
