// The box as a Wi-Fi Direct group owner, through wpa_supplicant's control interface:
// it forms a persistent autonomous group, serves DHCP on the group interface, arms
// WPS push-button while the share window is open, and reports stations and WPS
// progress. A group that fails or is removed, or a supplicant that is absent or
// dies, is retried with backoff; the box keeps running meanwhile.

import { EventEmitter } from 'node:events';
import path from 'node:path';
import { AccessPointControl, type AccessPointEvents } from './access-point-control.ts';
import { WpaCtrl } from './wpa-ctrl.ts';

export interface P2pGroup {
  iface: string;
  ssid: string;
  freq: number;
  passphrase: string | null;
}
export type RadioState = { state: 'down'; error?: string } | { state: 'forming' } | { state: 'up'; group: P2pGroup };

/** what both radios (this one and ApRadio) report */
export interface P2pRadioEvents extends AccessPointEvents {
  state: [RadioState];
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
  /** the group interface's control socket, where WPS is armed and stations come and go */
  private readonly group = new AccessPointControl(this, { notUp: 'Wi-Fi Direct: no group yet, cannot arm WPS', p2pGroup: true });
  private stopped = false;
  private wake: (() => void) | null = null;
  private current: RadioState = { state: 'down' };

  constructor(private readonly options: P2pRadioOptions) {
    super();
  }

  get state(): RadioState {
    return this.current;
  }

  start(): void {
    void this.run();
  }

  /** Share window opened: WPS push-button on the group interface. */
  armWps(): Promise<void> {
    return this.group.armWps();
  }

  cancelWps(): Promise<void> {
    return this.group.cancelWps();
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
    const [first, max] = this.options.backoffMs ?? [1000, 60_000];
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
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      backoff = Math.min(max, backoff * 2);
    }
  }

  /** Forms the group and returns when it is gone (removed, or the supplicant died). */
  private async formAndServe(): Promise<void> {
    this.setState({ state: 'forming' });
    const main = new WpaCtrl(path.join(this.options.ctrlDir, this.options.iface));
    main.open();
    this.main = main;
    let onEvent: (ev: string) => void = () => undefined;
    main.on('event', (ev) => onEvent(ev));
    await main.command('ATTACH');
    await main.command(`SET device_name ${this.options.deviceName}`);
    const started = new Promise<P2pGroup>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('Wi-Fi Direct: the group did not start')), this.options.formTimeoutMs ?? 15_000);
      onEvent = (ev) => {
        const g = parseGroupStarted(ev);
        if (g) {
          clearTimeout(t);
          resolve(g);
        } else if (ev.startsWith('P2P-GROUP-FORMATION-FAILURE')) {
          clearTimeout(t);
          reject(new Error('Wi-Fi Direct: group formation failed'));
        }
      };
    });
    const pw = this.options.passphrase ? ` passphrase=${this.options.passphrase}` : '';
    await main.command(`P2P_GROUP_ADD persistent freq=${this.options.freq}${pw}`);
    const group = await started;

    await this.group.attach(path.join(this.options.ctrlDir, group.iface));
    this.options.dhcp?.start(group.iface);
    this.setState({ state: 'up', group });

    // until the group is removed or the supplicant stops answering
    await new Promise<void>((resolve, reject) => {
      onEvent = (ev) => {
        if (ev.startsWith(`P2P-GROUP-REMOVED ${group.iface}`)) reject(new Error(`Wi-Fi Direct: group ${group.iface} removed (${/reason=(\S+)/.exec(ev)?.[1] ?? 'no reason'})`));
      };
      const ping = setInterval(() => {
        if (this.stopped) {
          clearInterval(ping);
          resolve();
          return;
        }
        main
          .request('PING', 2000)
          .then((r) => {
            if (r !== 'PONG') throw new Error(`answered ${r}`);
          })
          .catch((e: Error) => {
            clearInterval(ping);
            reject(new Error(`wpa_supplicant stopped answering: ${e.message}`));
          });
      }, this.options.pingMs ?? 2000);
      this.wake = () => {
        clearInterval(ping);
        resolve();
      };
    });
  }

  private teardown(): void {
    this.options.dhcp?.stop();
    this.group.detach();
    this.main?.close();
    this.main = null;
  }
}
