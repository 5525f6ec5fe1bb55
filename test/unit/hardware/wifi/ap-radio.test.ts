import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApRadio, hostapdConfig } from '../../../../hardware/wifi/ap-radio.ts';
import type { RadioState } from '../../../../hardware/wifi/p2p-radio.ts';
import { FakeWpaSupplicant } from '../../../helpers/fake-wpa-supplicant.ts';
import { waitFor } from '../../../helpers/box-process.ts';

describe('ApRadio (hostapd access point; a fake hostapd and its control socket)', function () {
  this.timeout(20_000);
  let dir: string;
  let savedPath: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-ap-'));
    savedPath = process.env.PATH;
  });
  afterEach(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a WPA2 + WPS push-button hostapd config for the channel of the frequency', () => {
    const c = hostapdConfig({ iface: 'wlan0', ssid: 'Shop music', passphrase: 'secret99', freq: 2437, runDir: '/run/nearcast' });
    expect(c)
      .to.include('ssid=Shop music\n')
      .and.include('hw_mode=g\nchannel=6\n')
      .and.include('wpa=2\n')
      .and.include('config_methods=push_button\n')
      .and.include('ctrl_interface=/run/nearcast/hostapd\n');
    expect(hostapdConfig({ iface: 'wlan0', ssid: 'x', passphrase: 'secret99', freq: 5180, runDir: '/r' })).to.include('hw_mode=a\nchannel=36\n');
    expect(() => hostapdConfig({ iface: 'wlan0', ssid: 'x', passphrase: 'short', freq: 2437, runDir: '/r' })).to.throw(/8-63 characters/);
    expect(() => hostapdConfig({ iface: 'wlan0', ssid: 'x\nwpa=0', passphrase: 'secret99', freq: 2437, runDir: '/r' })).to.throw(/one line/);
  });

  it('runs hostapd, attaches to its control socket, arms WPS and reports stations; restarts hostapd when it exits', async () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'hostapd'), `#!/bin/bash\necho "$*" >> "${dir}/hostapd.log"\necho $$ > "${dir}/hostapd.pid"\nexec sleep 3600\n`);
    chmodSync(path.join(bin, 'hostapd'), 0o755);
    process.env.PATH = `${bin}:${process.env.PATH}`;
    const runDir = path.join(dir, 'run');
    const fake = new FakeWpaSupplicant(path.join(runDir, 'hostapd'), 'wlan0', 'hostapd');
    const dhcp: string[] = [];
    const states: RadioState[] = [];
    const stations: unknown[] = [];
    const radio = new ApRadio({
      iface: 'wlan0',
      ssid: 'Shop music',
      passphrase: 'secret99',
      freq: 2437,
      runDir,
      dhcp: { start: (i) => dhcp.push(i), stop: () => dhcp.push('stop') },
      backoffMs: [100, 200],
    });
    radio.on('state', (s) => states.push(s));
    radio.on('station', (s) => stations.push(s));
    try {
      radio.start();
      await waitFor('up', () => radio.state.state === 'up');
      const conf = path.join(runDir, 'hostapd-wlan0.conf');
      expect(readFileSync(path.join(dir, 'hostapd.log'), 'utf8').trim()).to.equal(conf);
      expect(statSync(conf).mode & 0o077, 'the passphrase file is private').to.equal(0);
      expect(dhcp).to.deep.equal(['wlan0']);
      await radio.armWps();
      expect(fake.commands.map((c) => c.cmd)).to.include('WPS_PBC');
      fake.stationConnects('02:00:00:00:03:00');
      await waitFor('station', () => stations.length === 1);
      expect(stations[0]).to.deep.equal({ mac: '02:00:00:00:03:00', connected: true, p2pDevAddr: null });
      // hostapd dies: reported, restarted
      const ups = states.filter((s) => s.state === 'up').length;
      process.kill(Number(readFileSync(path.join(dir, 'hostapd.pid'), 'utf8')), 'SIGKILL');
      await waitFor('down', () => states.some((s) => s.state === 'down'));
      await waitFor('up again', () => states.filter((s) => s.state === 'up').length > ups);
    } finally {
      radio.stop();
      fake.stop();
    }
  });
});
