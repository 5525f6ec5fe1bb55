// A fake wpa_supplicant that speaks its real control-interface protocol: a unix
// datagram socket per interface in a control directory, one reply datagram per
// command, "<level>EVENT" datagrams to ATTACHed clients. It plays the event lines
// the real supplicant prints (src/p2p, src/ap, wpa_supplicant/p2p_supplicant.c).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UnixDgramSocket } from '../../hardware/wifi/unix-dgram.ts';

interface Iface {
  sock: UnixDgramSocket;
  attached: Buffer[];
}

export class FakeWpaSupplicant {
  readonly commands: Array<{ iface: string; cmd: string }> = [];
  /** what P2P_GROUP_ADD leads to */
  formation: 'ok' | 'fail-event' | 'fail-reply' = 'ok';
  private ifaces = new Map<string, Iface>();
  private timer: NodeJS.Timeout;
  readonly group = 'p2p-wlan0-0';

  /** `hostapd`: plays hostapd's control interface instead (WPS and stations on the interface itself) */
  constructor(
    readonly dir: string,
    readonly iface = 'wlan0',
    readonly role: 'wpa_supplicant' | 'hostapd' = 'wpa_supplicant',
  ) {
    mkdirSync(dir, { recursive: true });
    this.addIface(iface);
    this.timer = setInterval(() => this.poll(), 5);
  }

  private addIface(name: string): void {
    this.ifaces.set(name, { sock: new UnixDgramSocket(path.join(this.dir, name)), attached: [] });
  }

  private poll(): void {
    for (const [name, it] of this.ifaces) {
      for (let m = it.sock.recvFrom(); m; m = it.sock.recvFrom()) {
        const cmd = m.data.toString();
        this.commands.push({ iface: name, cmd });
        it.sock.sendTo(this.answer(name, it, cmd, m.from) + '\n', m.from);
      }
    }
  }

  private answer(name: string, it: Iface, cmd: string, from: Buffer): string {
    if (cmd === 'PING') return 'PONG';
    if (cmd === 'ATTACH') {
      it.attached.push(from);
      return 'OK';
    }
    if (cmd.startsWith('SET ')) return 'OK';
    if (cmd.startsWith('P2P_GROUP_ADD')) {
      if (this.formation === 'fail-reply') return 'FAIL';
      setTimeout(() => {
        if (this.formation === 'fail-event') return this.event(name, 'P2P-GROUP-FORMATION-FAILURE');
        this.addIface(this.group);
        this.event(name, `P2P-GROUP-STARTED ${this.group} GO ssid="DIRECT-nc-nearcast" freq=2437 passphrase="Xy12Ab34" go_dev_addr=02:00:00:00:01:00 [PERSISTENT]`);
      }, 50);
      return 'OK';
    }
    const wpsIface = this.role === 'hostapd' ? this.iface : this.group;
    if (cmd === 'WPS_PBC' && name === wpsIface) {
      setTimeout(() => this.event(name, 'WPS-PBC-ACTIVE'), 10);
      return 'OK';
    }
    if (cmd === 'WPS_CANCEL' && name === wpsIface) return 'OK';
    return 'UNKNOWN COMMAND';
  }

  /** sends an event line to the clients ATTACHed to an interface */
  event(iface: string, line: string): void {
    const it = this.ifaces.get(iface);
    if (!it) return;
    for (const a of it.attached) {
      try {
        it.sock.sendTo(`<3>${line}`, a);
      } catch {
        /* that client is gone */
      }
    }
  }

  stationConnects(mac: string): void {
    this.event(this.role === 'hostapd' ? this.iface : this.group, `AP-STA-CONNECTED ${mac} p2p_dev_addr=${mac.replace(/^../, '06')}`);
  }

  stationLeaves(mac: string): void {
    this.event(this.group, `AP-STA-DISCONNECTED ${mac} p2p_dev_addr=${mac.replace(/^../, '06')}`);
  }

  /** the group goes away (e.g. the radio was reset) */
  removeGroup(reason = 'UNAVAILABLE'): void {
    this.event(this.iface, `P2P-GROUP-REMOVED ${this.group} GO reason=${reason}`);
    this.ifaces.get(this.group)?.sock.close();
    this.ifaces.delete(this.group);
  }

  /** the supplicant dies: every socket disappears */
  stop(): void {
    clearInterval(this.timer);
    for (const it of this.ifaces.values()) it.sock.close();
    this.ifaces.clear();
  }
}
