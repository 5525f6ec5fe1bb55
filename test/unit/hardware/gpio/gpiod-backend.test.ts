import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chipByLabel, GpiodBackend, parseGpiodVersion } from '../../../../hardware/gpio/gpiod-backend.ts';
import { makeFakeGpiod } from '../../../helpers/fake-gpiod.ts';
import { waitFor } from '../../../helpers/box-process.ts';


describe('GpiodBackend (libgpiod tools, faked on PATH)', function () {
  this.timeout(15_000);
  let dir: string;
  let savedPath: string | undefined;
  beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-gpiod-')); savedPath = process.env.PATH; });
  afterEach(() => { process.env.PATH = savedPath; rmSync(dir, { recursive: true, force: true }); });

  it('parses the tools\' version and finds the chip by its label', () => {
    expect(parseGpiodVersion('gpiomon (libgpiod) v1.6.3\nCopyright...')).to.equal(1);
    expect(parseGpiodVersion('gpiomon (libgpiod) v2.1.2')).to.equal(2);
    expect(() => parseGpiodVersion('gpiomon 3')).to.throw(/cannot tell/);
    const detect = 'gpiochip0 [pinctrl-rp1] (54 lines)\ngpiochip10 [gpio-brcmstb@107d508500] (32 lines)';
    expect(chipByLabel(detect, 'pinctrl-rp1')).to.equal('gpiochip0');
    expect(chipByLabel(detect, 'pinctrl-bcm2711')).to.equal(null);
  });

  for (const version of [1, 2] as const) {
    it(`v${version}: watches the button lines active-low with pull-ups and reports presses and releases; LEDs held by gpioset`, async () => {
      const fake = makeFakeGpiod(dir, version);
      process.env.PATH = fake.env.PATH;
      const errors: string[] = [];
      const gpio = await GpiodBackend.open({ label: 'pinctrl-bcm2711', chardev: 'gpiochip9' }, (m) => errors.push(m));
      expect(gpio.version).to.equal(version);
      expect(gpio.chip).to.equal('gpiochip0'); // found by label, not the board's fallback name
      const edges: Array<[number, boolean]> = [];
      await gpio.watch([17, 27], (line, pressed) => edges.push([line, pressed]));
      await waitFor('gpiomon started', () => fake.calls().some((c) => c.startsWith('gpiomon')));
      fake.edge(17, true);
      fake.edge(17, false);
      fake.edge(27, true);
      await waitFor('three edges', () => edges.length === 3);
      expect(edges).to.deep.equal([[17, true], [17, false], [27, true]]);
      gpio.setLed(25, true);
      gpio.setLed(25, true); // unchanged: no new process
      await waitFor('first gpioset run', () => fake.calls().filter((c) => c.startsWith('gpioset')).length === 1);
      gpio.setLed(25, false);
      await waitFor('two gpioset runs', () => fake.calls().filter((c) => c.startsWith('gpioset')).length === 2);
      await gpio.close();
      const calls = fake.calls();
      const mon = calls.find((c) => c.startsWith('gpiomon'))!;
      if (version === 1) {
        expect(mon).to.equal('gpiomon --active-low --bias=pull-up --line-buffered --format=%o %e gpiochip0 17 27');
        expect(calls.filter((c) => c.startsWith('gpioset'))).to.deep.equal(['gpioset --mode=signal gpiochip0 25=1', 'gpioset --mode=signal gpiochip0 25=0']);
      } else {
        expect(mon).to.equal('gpiomon --chip gpiochip0 --active-low --bias=pull-up --edges=both --format=%o %e 17 27');
        expect(calls.filter((c) => c.startsWith('gpioset'))).to.deep.equal(['gpioset --chip gpiochip0 25=1', 'gpioset --chip gpiochip0 25=0']);
      }
      expect(errors).to.deep.equal([]);
    });
  }

  it('garbage from gpiomon is reported, not taken for a press', async () => {
    const fake = makeFakeGpiod(dir, 2);
    process.env.PATH = fake.env.PATH;
    const errors: string[] = [];
    const gpio = await GpiodBackend.open({ label: 'pinctrl-bcm2711', chardev: 'gpiochip0' }, (m) => errors.push(m));
    const edges: unknown[] = [];
    await gpio.watch([17], (l, p) => edges.push([l, p]));
    await waitFor('gpiomon started', () => fake.calls().some((c) => c.startsWith('gpiomon')));
    fake.edge(99, true); // a line we did not ask for
    await waitFor('error reported', () => errors.length > 0);
    await gpio.close();
    expect(edges).to.deep.equal([]);
    expect(errors[0]).to.match(/unexpected output '99 1'/);
  });
});
