// The box as a Wi-Fi Direct group owner, through wpa_supplicant's control interface:
// it forms a persistent autonomous group, serves DHCP on the group interface, arms
// WPS push-button while the share window is open, and reports stations and WPS
// progress. A group that fails or is removed, or a supplicant that is absent or
// dies, is retried with backoff; the box keeps running meanwhile.

import { EventEmitter } from 'node:events';
import path from 'node:path';
import { WpaCtrl } from './wpa-ctrl.ts';

export interface P2pGroup { iface: string; ssid: string; freq: number; passphrase: string | null }
export type RadioState = { state: 'down'; error?: string } | { state: 'forming' } | { state: 'up'; group: P2pGroup };

export interface P2pRadioEvents {
  state: [RadioState];
  station: [{ mac: string; connected: boolean; p2pDevAddr: string | null }];
  wps: [{ state: 'armed' | 'success' | 'failed' | 'timeout' | 'cancelled' }];
  problem: [string];
}

export interface P2pRadioOptions {
  ctrlDir: string; // /run/wpa_supplicant
  iface: string; // wlan0 (or its p2p-dev-wlan0 control socket)
  deviceName: string;
  freq: number;
  passphrase?: string | null;
  dhcp?: { start(iface: string): void; stop(): void } | null;
  backoffMs?: [number, number];
  formTimeoutMs?: number;
  pingMs?: number;
}

/** P2P-GROUP-STARTED p2p-wlan0-0 GO ssid="DIRECT-ab" freq=2437 passphrase="..." go_dev_addr=... [PERSISTENT] */
export function parseGroupStarted(ev: string): P2pGroup | null {
  const m = /^P2P-GROUP-STARTED (\S+) GO ssid="((?:[^"\\]|\\.)*)" freq=(\d+)(?: psk=\S+| passphrase="((?:[^"\\]|\\.)*)")?/.exec(ev);
  return m ? { iface: m[1]!, ssid: m[2]!, freq: Number(m[3]), passphrase: m[4] ?? null } : null;
}

export class P2pRadio extends EventEmitter<P2pRadioEvents> {
  private main: WpaCtrl | null = null;
  private groupCtrl: WpaCtrl | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private current: RadioState = { state: 'down' };

  constructor(private readonly o: P2pRadioOptions) {
    super();
  }

  get state(): RadioState {
    return this.current;
  }

  start(): void {
    void this.run();
  }

  /** Share window opened: WPS push-button on the group interface. */
  async armWps(): Promise<void> {
    if (!this.groupCtrl) throw new Error('Wi-Fi Direct: no group yet, cannot arm WPS');
    await this.groupCtrl.command('WPS_PBC');
    this.emit('wps', { state: 'armed' });
  }

  async cancelWps(): Promise<void> {
    if (!this.groupCtrl) return;
    await this.groupCtrl.command('WPS_CANCEL');
    this.emit('wps', { state: 'cancelled' });
  }

  stop(): void {
    this.stopped = true;
    this.teardown();
    this.wake?.();
  }

  private setState(s: RadioState): void {
    this.current = s;
    this.emit('state', s);
  }

  private async run(): Promise<void> {
    const [first, max] = this.o.backoffMs ?? [1000, 60_000];
    let backoff = first;
    while (!this.stopped) {
      try {
        await this.formAndServe();
        backoff = first; // the group lived: start the backoff over
      } catch (e) {
        if (this.stopped) break;
        const msg = (e as Error).message;
        this.teardown();
        this.setState({ state: 'down', error: msg });
        this.emit('problem', `${msg}; retrying in ${Math.round(backoff / 1000)} s`);
      }
      if (this.stopped) break;
      await new Promise<void>((r) => { const t = setTimeout(r, backoff); this.wake = () => { clearTimeout(t); r(); }; });
      backoff = Math.min(max, backoff * 2);
    }
  }

  /** Forms the group and returns when it is gone (removed, or the supplicant died). */
  private async formAndServe(): Promise<void> {
    this.setState({ state: 'forming' });
    const main = new WpaCtrl(path.join(this.o.ctrlDir, this.o.iface));
    main.open();
    this.main = main;
    let onEvent: (ev: string) => void = () => undefined;
    main.on('event', (ev) => onEvent(ev));
    await main.command('ATTACH');
    await main.command(`SET device_name ${this.o.deviceName}`);
    const started = new Promise<P2pGroup>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('Wi-Fi Direct: the group did not start')), this.o.formTimeoutMs ?? 15_000);
      onEvent = (ev) => {
        const g = parseGroupStarted(ev);
        if (g) { clearTimeout(t); resolve(g); } else if (ev.startsWith('P2P-GROUP-FORMATION-FAILURE')) { clearTimeout(t); reject(new Error('Wi-Fi Direct: group formation failed')); }
      };
    });
    const pw = this.o.passphrase ? ` passphrase=${this.o.passphrase}` : '';
    await main.command(`P2P_GROUP_ADD persistent freq=${this.o.freq}${pw}`);
    const group = await started;

    const gc = new WpaCtrl(path.join(this.o.ctrlDir, group.iface));
    gc.open();
    this.groupCtrl = gc;
    gc.on('event', (ev) => this.onGroupEvent(ev));
    await gc.command('ATTACH');
    this.o.dhcp?.start(group.iface);
    this.setState({ state: 'up', group });

    // until the group is removed or the supplicant stops answering
    await new Promise<void>((resolve, reject) => {
      onEvent = (ev) => { if (ev.startsWith(`P2P-GROUP-REMOVED ${group.iface}`)) reject(new Error(`Wi-Fi Direct: group ${group.iface} removed (${/reason=(\S+)/.exec(ev)?.[1] ?? 'no reason'})`)); };
      const ping = setInterval(() => {
        if (this.stopped) { clearInterval(ping); resolve(); return; }
        main.request('PING', 2000).then((r) => { if (r !== 'PONG') throw new Error(`answered ${r}`); }).catch((e: Error) => { clearInterval(ping); reject(new Error(`wpa_supplicant stopped answering: ${e.message}`)); });
      }, this.o.pingMs ?? 2000);
      this.wake = () => { clearInterval(ping); resolve(); };
    });
  }

  private onGroupEvent(ev: string): void {
    const sta = /^AP-STA-(CONNECTED|DISCONNECTED) ([0-9a-f:]{17})(?: .*p2p_dev_addr=([0-9a-f:]{17}))?/.exec(ev);
    if (sta) return void this.emit('station', { mac: sta[2]!, connected: sta[1] === 'CONNECTED', p2pDevAddr: sta[3] ?? null });
    if (ev.startsWith('WPS-SUCCESS')) this.emit('wps', { state: 'success' });
    else if (ev.startsWith('WPS-FAIL')) this.emit('wps', { state: 'failed' });
    else if (ev.startsWith('WPS-TIMEOUT')) this.emit('wps', { state: 'timeout' });
  }

  private teardown(): void {
    this.o.dhcp?.stop();
    this.groupCtrl?.close();
    this.groupCtrl = null;
    this.main?.close();
    this.main = null;
  }
}
