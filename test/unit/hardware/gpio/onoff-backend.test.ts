import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OnoffBackend } from '../../../../hardware/gpio/onoff-backend.ts';
import { sysfsNumber } from '../../../../hardware/gpio/sysfs-base.ts';

/** a /sys/class/gpio with the chips a Pi 5 on a 6.6 kernel shows */
function fakeSysfs(dir: string): string {
  const root = path.join(dir, 'gpio');
  for (const [name, label, base, n] of [
    ['gpiochip512', 'gpio-brcmstb@107d508500', 512, 32],
    ['gpiochip571', 'pinctrl-rp1', 571, 54],
  ] as const) {
    mkdirSync(path.join(root, name), { recursive: true });
    writeFileSync(path.join(root, name, 'label'), label + '\n');
    writeFileSync(path.join(root, name, 'base'), `${base}\n`);
    writeFileSync(path.join(root, name, 'ngpio'), `${n}\n`);
  }
  return root;
}

describe('OnoffBackend (sysfs GPIO with the chip base)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-sysfs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a BCM line through the base of the chip with the board's label (Pi 5: 571 + 17)", () => {
    const root = fakeSysfs(dir);
    expect(sysfsNumber(17, 'pinctrl-rp1', root)).to.equal(588);
    expect(() => sysfsNumber(17, 'pinctrl-bcm2711', root)).to.throw(/no GPIO chip labelled 'pinctrl-bcm2711'.*gpiochip571 \[pinctrl-rp1\]/);
    expect(() => sysfsNumber(60, 'pinctrl-rp1', root)).to.throw(/beyond gpiochip571/);
    expect(() => sysfsNumber(1, 'x', path.join(dir, 'none'))).to.throw(/sysfs GPIO is not available.*ENOENT.*gpiod/);
  });

  it('opens onoff lines by their sysfs numbers, active low for buttons, and drives LEDs', async () => {
    const root = fakeSysfs(dir);
    const made: Array<{ n: number; dir: string; opts?: unknown }> = [];
    const watchers = new Map<number, (err: null, v: number) => void>();
    const writes: Array<[number, number]> = [];
    class FakeGpio {
      constructor(
        readonly n: number,
        dir: string,
        _edge?: string,
        opts?: unknown,
      ) {
        made.push({ n, dir, opts });
      }
      watch(cb: (err: null, v: number) => void) {
        watchers.set(this.n, cb);
      }
      writeSync(v: number) {
        writes.push([this.n, v]);
      }
      unexport() {
        /* nothing exported */
      }
    }
    const gpio = await OnoffBackend.open({ label: 'pinctrl-rp1' }, root, async () => ({ Gpio: FakeGpio as never }));
    const edges: Array<[number, boolean]> = [];
    await gpio.watch([17, 27], (l, p) => edges.push([l, p]));
    watchers.get(588)!(null, 1);
    watchers.get(598)!(null, 0);
    gpio.setLed(25, true);
    gpio.setLed(25, false);
    await gpio.close();
    expect(made).to.deep.equal([
      { n: 588, dir: 'in', opts: { activeLow: true } },
      { n: 598, dir: 'in', opts: { activeLow: true } },
      { n: 596, dir: 'out', opts: undefined },
    ]);
    expect(edges).to.deep.equal([
      [17, true],
      [27, false],
    ]);
    expect(writes).to.deep.equal([
      [596, 1],
      [596, 0],
    ]);
  });

  it('without the onoff package it says what to do instead', async () => {
    const err = await OnoffBackend.open({ label: 'x' }, '/sys/class/gpio', async () => {
      throw new Error("Cannot find module 'onoff'");
    }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/needs the 'onoff' package.*backend: gpiod/);
  });
});
