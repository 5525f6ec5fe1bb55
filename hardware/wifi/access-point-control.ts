// The control socket of the interface phones join, the same for both radios:
// hostapd's (wifi.mode ap) and a wpa_supplicant P2P group owner's speak one
// protocol (wpa-ctrl.ts) and send the same station and WPS events. The share
// window arms WPS push-button here and cancels it when it closes.

import type { EventEmitter } from 'node:events';
import { WpaCtrl } from './wpa-ctrl.ts';

export type WpsState = 'armed' | 'success' | 'failed' | 'timeout' | 'cancelled';
export interface StationEvent {
  mac: string;
  connected: boolean;
  p2pDevAddr: string | null;
}
export interface AccessPointEvents {
  station: [StationEvent];
  wps: [{ state: WpsState }];
}

/** AP-STA-CONNECTED 02:00:00:00:03:00 [p2p_dev_addr=02:00:00:00:02:00] (the address only in a P2P group) */
const STATION = /^AP-STA-(CONNECTED|DISCONNECTED) ([0-9a-f:]{17})(?: .*p2p_dev_addr=([0-9a-f:]{17}))?/;
const WPS_OUTCOMES: Array<[prefix: string, state: WpsState]> = [
  ['WPS-SUCCESS', 'success'],
  ['WPS-FAIL', 'failed'],
  ['WPS-TIMEOUT', 'timeout'],
];

export class AccessPointControl {
  private ctrl: WpaCtrl | null = null;

  /**
   * `radio` gets the station and WPS events; `notUp` says why WPS cannot be armed
   * before attach. A station's P2P device address means something in a Wi-Fi Direct
   * group only: a plain access point (`p2pGroup` false) reports none, even when a
   * phone that also speaks P2P sends one.
   */
  constructor(
    private readonly radio: Pick<EventEmitter<AccessPointEvents>, 'emit'>,
    private readonly options: { notUp: string; p2pGroup: boolean },
  ) {}

  /** Opens the interface's control socket and subscribes to its events; throws (and closes it) when either fails. */
  async attach(ctrlPath: string): Promise<void> {
    this.detach();
    const ctrl = new WpaCtrl(ctrlPath);
    // held before ATTACH so that a detach meanwhile (the radio stopping) closes it
    this.ctrl = ctrl;
    try {
      ctrl.open();
      ctrl.on('event', (event) => this.onEvent(event));
      await ctrl.command('ATTACH');
    } catch (err) {
      ctrl.close();
      if (this.ctrl === ctrl) this.ctrl = null;
      throw err;
    }
  }

  detach(): void {
    this.ctrl?.close();
    this.ctrl = null;
  }

  /** Share window opened: WPS push-button for the next phone that asks. */
  async armWps(): Promise<void> {
    if (!this.ctrl) throw new Error(this.options.notUp);
    await this.ctrl.command('WPS_PBC');
    this.radio.emit('wps', { state: 'armed' });
  }

  /** Share window closed; nothing to cancel while detached. */
  async cancelWps(): Promise<void> {
    if (!this.ctrl) return;
    await this.ctrl.command('WPS_CANCEL');
    this.radio.emit('wps', { state: 'cancelled' });
  }

  private onEvent(event: string): void {
    const station = STATION.exec(event);
    if (station) {
      this.radio.emit('station', { mac: station[2]!, connected: station[1] === 'CONNECTED', p2pDevAddr: this.options.p2pGroup ? (station[3] ?? null) : null });
      return;
    }
    const outcome = WPS_OUTCOMES.find(([prefix]) => event.startsWith(prefix));
    if (outcome) this.radio.emit('wps', { state: outcome[1] });
  }
}
