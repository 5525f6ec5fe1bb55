import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dnsmasqConfig } from '../../../../hardware/wifi/dhcp.ts';
import { P2pRadio, parseGroupStarted, type RadioState } from '../../../../hardware/wifi/p2p-radio.ts';
import { FakeWpaSupplicant } from '../../../helpers/fake-wpa-supplicant.ts';
import { waitFor } from '../../../helpers/box-process.ts';

describe('P2pRadio (Wi-Fi Direct group owner over a fake wpa_supplicant control socket)', function () {
  this.timeout(20_000);
  let dir: string;
  let fake: FakeWpaSupplicant | null = null;
  let radio: P2pRadio | null = null;
  const states: RadioState[] = [];
  const problems: string[] = [];
  const dhcp: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-wpa-'));
    states.length = 0;
    problems.length = 0;
    dhcp.length = 0;
  });
  afterEach(() => {
    radio?.stop();
    fake?.stop();
    radio = null;
    fake = null;
    rmSync(dir, { recursive: true, force: true });
  });

  function makeRadio() {
    radio = new P2pRadio({
      ctrlDir: path.join(dir, 'ctrl'),
      iface: 'wlan0',
      deviceName: 'Shop box',
      freq: 2437,
      passphrase: 'secret99',
      dhcp: { start: (i) => dhcp.push(`start ${i}`), stop: () => dhcp.push('stop') },
      backoffMs: [100, 400],
      pingMs: 100,
    });
    radio.on('state', (s) => states.push(s));
    radio.on('problem', (p) => problems.push(p));
    return radio;
  }
  const up = () => states.filter((s) => s.state === 'up').length;

  it('parses the group-started event of the real supplicant', () => {
    expect(parseGroupStarted('P2P-GROUP-STARTED p2p-wlan0-0 GO ssid="DIRECT-ab Box" freq=5180 passphrase="pa ss" go_dev_addr=02:00:00:00:01:00 [PERSISTENT]')).to.deep.equal({
      iface: 'p2p-wlan0-0',
      ssid: 'DIRECT-ab Box',
      freq: 5180,
      passphrase: 'pa ss',
    });
    expect(parseGroupStarted('P2P-GROUP-STARTED p2p-wlan0-0 client ssid="x" freq=2412')).to.equal(null);
  });

  it('forms a persistent group, serves DHCP on it, arms WPS push-button, and reports stations', async () => {
    fake = new FakeWpaSupplicant(path.join(dir, 'ctrl'));
    const r = makeRadio();
    const stations: unknown[] = [];
    const wps: string[] = [];
    r.on('station', (s) => stations.push(s));
    r.on('wps', (w) => wps.push(w.state));
    r.start();
    await waitFor('group up', () => up() === 1);
    expect(r.state).to.deep.equal({ state: 'up', group: { iface: 'p2p-wlan0-0', ssid: 'DIRECT-nc-nearcast', freq: 2437, passphrase: 'Xy12Ab34' } });
    expect(fake.commands.filter((c) => c.iface === 'wlan0').map((c) => c.cmd)).to.deep.equal([
      'ATTACH',
      'SET device_name Shop box',
      'P2P_GROUP_ADD persistent freq=2437 passphrase=secret99',
    ]);
    expect(dhcp).to.deep.equal(['start p2p-wlan0-0']);
    await r.armWps();
    expect(fake.commands.some((c) => c.iface === 'p2p-wlan0-0' && c.cmd === 'WPS_PBC')).to.equal(true);
    fake.stationConnects('02:00:00:00:02:00');
    fake.stationLeaves('02:00:00:00:02:00');
    await waitFor('two station events', () => stations.length === 2);
    expect(stations).to.deep.equal([
      { mac: '02:00:00:00:02:00', connected: true, p2pDevAddr: '06:00:00:00:02:00' },
      { mac: '02:00:00:00:02:00', connected: false, p2pDevAddr: '06:00:00:00:02:00' },
    ]);
    fake.event('p2p-wlan0-0', 'WPS-REG-SUCCESS 02:00:00:00:02:00 3ba6b6a4-ff52-5d2b-a8a3-1f4b1f7e2c11');
    fake.event('p2p-wlan0-0', 'WPS-SUCCESS');
    await waitFor('WPS success', () => wps.includes('success'));
    await r.cancelWps();
    expect(wps).to.deep.equal(['armed', 'success', 'cancelled']);
  });

  it('a removed group is formed again (with backoff)', async () => {
    fake = new FakeWpaSupplicant(path.join(dir, 'ctrl'));
    makeRadio().start();
    await waitFor('group up', () => up() === 1);
    fake.removeGroup();
    await waitFor('group up again', () => up() === 2);
    expect(problems[0]).to.match(/group p2p-wlan0-0 removed \(UNAVAILABLE\); retrying in/);
    expect(dhcp).to.deep.equal(['start p2p-wlan0-0', 'stop', 'start p2p-wlan0-0']);
  });

  it('formation failure (event or FAIL reply) is retried with growing backoff', async () => {
    fake = new FakeWpaSupplicant(path.join(dir, 'ctrl'));
    fake.formation = 'fail-event';
    makeRadio().start();
    await waitFor('two failures', () => problems.length >= 2);
    expect(problems[0]).to.match(/group formation failed/);
    fake.formation = 'fail-reply';
    await waitFor('a FAIL reply', () => problems.some((p) => /P2P_GROUP_ADD answered 'FAIL'/.test(p)));
    fake.formation = 'ok';
    await waitFor('group up', () => up() === 1, 8000);
  });

  it('an absent supplicant is reported and retried; one that appears is used; one that dies is noticed', async () => {
    makeRadio().start();
    await waitFor('reported absent', () => problems.length >= 1);
    expect(problems[0]).to.match(/control socket .*ctrl\/wlan0: connect .*No such file or directory/);
    fake = new FakeWpaSupplicant(path.join(dir, 'ctrl'));
    await waitFor('group up', () => up() === 1, 8000);
    fake.stop();
    await waitFor('noticed it died', () => states.at(-1)?.state === 'down', 5000);
    expect(problems.at(-1)).to.match(/stopped answering|Connection refused|No such file/);
  });

  it('generates a DHCP config for the group interface only', () => {
    const conf = dnsmasqConfig('p2p-wlan0-0');
    expect(conf).to.include('interface=p2p-wlan0-0\n');
    expect(conf).to.include('dhcp-range=192.168.49.10,192.168.49.100,255.255.255.0,12h');
    expect(conf).to.include('port=0');
    expect(() => dnsmasqConfig('wlan0; rm -rf /')).to.throw(/not an interface name/);
  });
});
