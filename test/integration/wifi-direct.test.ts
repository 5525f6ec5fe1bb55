// The share window end to end on a real box process with a Wi-Fi Direct radio: a
// fake wpa_supplicant (the real control-socket protocol) in a temporary control
// directory and a fake dnsmasq on PATH.

import { expect } from 'chai';
import { hashPassword } from '../../firmware/config/password.ts';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { FakeWpaSupplicant } from '../helpers/fake-wpa-supplicant.ts';

describe('share window with Wi-Fi Direct (real box process, fake wpa_supplicant)', function () {
  this.timeout(60_000);
  let dir: string;
  let fake: FakeWpaSupplicant;
  let box: BoxProcess;
  let client: mqtt.MqttClient;
  /** state, events and replies: the fields read here */
  interface Seen {
    status?: string;
    state?: string;
    wifi?: { state?: string; group?: object };
    sharing?: { open?: boolean; remainingMs?: number };
    [field: string]: unknown;
  }
  const seen: Array<{ topic: string; msg: Seen }> = [];
  const lastState = () => [...seen].reverse().find((s) => s.topic.endsWith('/state'))?.msg;
  const events = (name: string) => seen.filter((s) => s.topic.endsWith(`/event/${name}`)).map((s) => s.msg);

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-p2p-'));
    fake = new FakeWpaSupplicant(path.join(dir, 'ctrl'));
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'dnsmasq'), `#!/bin/bash\necho "$*" >> "${dir}/dnsmasq.log"\nexec sleep 3600\n`);
    chmodSync(path.join(bin, 'dnsmasq'), 0o755);
    box = await startBox(['--sim', '--box-id', 'wd', '--source', 'silence', '--audio-device', 'none', '--policy', 'button', '--state-dir', path.join(dir, 'state')], {
      PATH: `${bin}:${process.env.PATH}`,
      NEARCAST_WIFI__MODE: 'p2p',
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_WIFI__CTRLDIR: path.join(dir, 'ctrl'),
      NEARCAST_SHARE__WINDOWSECONDS: '10',
    });
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'phone', protocolVersion: 4 });
    client.on('message', (topic, p) => {
      try {
        seen.push({ topic, msg: JSON.parse(p.toString()) });
      } catch {
        /* */
      }
    });
    await client.subscribeAsync(['nearcast/wd/event/#', 'nearcast/wd/state', 'nearcast/wd/client/phone/response/#']);
    await waitFor('group up', () => lastState()?.wifi?.state === 'up', 10_000);
  });
  after(async () => {
    await client?.endAsync();
    if (box) expect(await box.stop()).to.equal(0);
    fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forms the group at start and serves DHCP on it', () => {
    expect(fake.commands.filter((c) => c.iface === 'wlan0').map((c) => c.cmd)).to.include('P2P_GROUP_ADD persistent freq=2437');
    expect(lastState()?.wifi?.group).to.include({ iface: 'p2p-wlan0-0', ssid: 'DIRECT-nc-nearcast' });
    expect(readFileSync(path.join(dir, 'dnsmasq.log'), 'utf8')).to.match(/--keep-in-foreground --conf-file=.*dnsmasq-p2p-wlan0-0\.conf/);
  });

  it("the group passphrase is secret: not in the public state nor a guest's status, only on the owner-only topic", async () => {
    expect(JSON.stringify(lastState())).to.not.contain('Xy12Ab34');
    await client.publishAsync('nearcast/wd/client/phone/request/status', '{}');
    await waitFor('status reply', () => seen.some((s) => s.topic.endsWith('/response/status')), 5000);
    expect(JSON.stringify(seen.find((s) => s.topic.endsWith('/response/status'))!.msg)).to.not.contain('Xy12Ab34');
    const refused = await client.subscribeAsync('nearcast/wd/owner/wifi').then(
      (g) => g[0]?.qos,
      (e) => (e as { packet?: { granted?: number[] } }).packet?.granted?.[0],
    );
    expect(refused, 'a guest may not read the owner topic').to.equal(128);
    const owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'own', username: 'owner', password: 'pw', protocolVersion: 4 });
    const secret = new Promise<string>((r) => owner.once('message', (_t, p) => r(p.toString())));
    await owner.subscribeAsync('nearcast/wd/owner/wifi');
    expect(JSON.parse(await secret).group.passphrase).to.equal('Xy12Ab34');
    await owner.endAsync();
  });

  it('a share click arms WPS push-button, state shows the window with its time left, a join is accepted, stations are reported, and the window closes by itself', async () => {
    box.press('share');
    await waitFor('WPS armed', () => fake.commands.some((c) => c.iface === 'p2p-wlan0-0' && c.cmd === 'WPS_PBC'), 5000);
    await waitFor('state shows the window', () => lastState()?.sharing?.open === true, 5000);
    expect(lastState()?.sharing?.remainingMs).to.be.within(5000, 10_000);
    fake.stationConnects('02:00:00:00:02:00');
    await waitFor('station event', () => events('wifi_station_connected').length === 1, 5000);
    expect(events('wifi_station_connected')[0]).to.include({ mac: '02:00:00:00:02:00', connected: true });
    await client.publishAsync('nearcast/wd/client/phone/request/join', JSON.stringify({ name: 'Bob' }));
    await waitFor('join reply', () => seen.some((s) => s.topic.endsWith('/response/join')), 5000);
    expect(seen.find((s) => s.topic.endsWith('/response/join'))!.msg.status).to.equal('ok');
    await waitFor('window closed by itself', () => lastState()?.sharing?.open === false, 12_000);
    await waitFor('WPS cancelled', () => fake.commands.some((c) => c.iface === 'p2p-wlan0-0' && c.cmd === 'WPS_CANCEL'), 5000);
  });

  it('a removed group is reported and formed again', async () => {
    const ups = () => events('wifi').filter((e) => e.state === 'up').length;
    const before = ups();
    fake.removeGroup();
    await waitFor('down reported', () => events('wifi').some((e) => e.state === 'down'), 5000);
    await waitFor('up again', () => ups() > before, 10_000);
  });
});
