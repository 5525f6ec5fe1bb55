// The Wi-Fi Direct group (or access point) that phones join. The share window
// arms WPS push-button on it while open. Its state is public without the
// passphrase; the owner reads the whole of it on the owner-only `owner/wifi` topic.

import fs from 'node:fs';
import path from 'node:path';
import { ApRadio } from '../../hardware/wifi/ap-radio.ts';
import { DnsmasqDhcp } from '../../hardware/wifi/dhcp.ts';
import { P2pRadio } from '../../hardware/wifi/p2p-radio.ts';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import type { BoxConfig } from '../config/config.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import { publicWifi } from '../security/public-state.ts';
import type { Extension } from './extension.ts';

export interface WifiOptions {
  config: Pick<BoxConfig, 'wifi' | 'name' | 'stateDir'> & { simulated: boolean };
  broker: Pick<EmbeddedBroker, 'publish'>;
  ownerTopic: string;
  events: BoxEvents;
  log(level: 'warn', msg: string, extra?: object): void;
}

type Radio = ApRadio | P2pRadio;

/** 'p2p', 'ap' or 'none': `auto` runs Wi-Fi Direct when wpa_supplicant's control socket is there */
export function wifiMode(wifi: BoxConfig['wifi'], simulated: boolean): 'p2p' | 'ap' | 'none' {
  if (wifi.mode !== 'auto') return wifi.mode;
  return !simulated && fs.existsSync(path.join(wifi.ctrlDir, wifi.interface)) ? 'p2p' : 'none';
}

export class Wifi implements Extension {
  readonly name = 'wifi';
  private radio: Radio | null = null;
  readonly mode: 'p2p' | 'ap' | 'none';

  constructor(private readonly options: WifiOptions) {
    this.mode = wifiMode(options.config.wifi, options.config.simulated);
  }

  /** the radio's state without secrets (null when the box runs none) */
  publicState(): unknown {
    return this.radio ? publicWifi(this.radio.state) : null;
  }

  start(): void {
    if (this.mode === 'none') return;
    const { wifi, name, stateDir } = this.options.config;
    const runDir = path.join(stateDir, 'wifi');
    const dhcp = wifi.dhcp ? new DnsmasqDhcp(runDir, (m) => this.problem(m)) : null;
    const deviceName = wifi.deviceName ?? name;
    if (this.mode === 'ap' && !wifi.passphrase) {
      this.problem('wifi.mode ap needs wifi.passphrase (8-63 characters); the access point stays off');
      return;
    }
    const radio: Radio =
      this.mode === 'ap'
        ? new ApRadio({ iface: wifi.interface, ssid: deviceName, passphrase: wifi.passphrase!, freq: wifi.freq, runDir, dhcp })
        : new P2pRadio({ ctrlDir: wifi.ctrlDir, iface: wifi.interface, deviceName, freq: wifi.freq, passphrase: wifi.passphrase, dhcp });
    const events = this.options.events;
    radio.on('state', (s) => {
      void this.options.broker.publish(this.options.ownerTopic, JSON.stringify(s), { retain: true });
      events.emit('wifi', s.state === 'up' ? { state: 'up', ssid: s.group.ssid, freq: s.group.freq, iface: s.group.iface } : s);
      events.emit('changed');
    });
    radio.on('station', (s) => events.emit(s.connected ? 'wifi_station_connected' : 'wifi_station_disconnected', s));
    radio.on('wps', (s) => events.emit('wps', s));
    radio.on('problem', (m) => this.problem(m));
    events.on('share', this.onShare);
    this.radio = radio;
    radio.start();
  }

  /** WPS push-button is armed exactly while the share window is open */
  private readonly onShare = (share: { open: boolean }): void => {
    const radio = this.radio;
    if (radio?.state.state !== 'up') return;
    (share.open ? radio.armWps() : radio.cancelWps()).catch((e: Error) => this.problem(e.message));
  };

  private problem(message: string): void {
    this.options.log('warn', 'Wi-Fi', { mode: this.mode, problem: message });
    this.options.events.emit('error', { message: `Wi-Fi (${this.mode}): ${message}` });
  }

  async stop(): Promise<void> {
    this.options.events.off('share', this.onShare);
    await this.radio?.stop();
    this.radio = null;
  }
}
