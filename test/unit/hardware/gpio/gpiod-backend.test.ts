// The gpiod backend against fakes of what it drives (test/helpers/fake-gpiod.ts):
// gpiomon and gpiodetect scripts on PATH, and a C stand-in for libgpiod loaded
// through koffi like the real library (its log is where the LED levels land).

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chipByLabel, GpiodBackend, parseGpiodVersion, type GpiodOptions } from '../../../../hardware/gpio/gpiod-backend.ts';
import { makeFakeGpiod, type FakeGpiod } from '../../../helpers/fake-gpiod.ts';
import { waitFor } from '../../../helpers/box-process.ts';

const BOARD_CHIP = { label: 'pinctrl-bcm2711', chardev: 'gpiochip9' };
const FAST_RETRIES: GpiodOptions = {
  ledRetry: { firstDelayMs: 20, maxDelayMs: 40, maxRetries: 3 },
  monitorRestart: { firstDelayMs: 20, maxDelayMs: 40, maxRetries: 3 },
};

describe('GpiodBackend (libgpiod tools and library, faked)', function () {
  this.timeout(20_000);
  let dir: string;
  const saved = { PATH: process.env.PATH, FAKE_LIBGPIOD_LOG: process.env.FAKE_LIBGPIOD_LOG, FAKE_LIBGPIOD_FAIL: process.env.FAKE_LIBGPIOD_FAIL };
  let gpio: GpiodBackend | null = null;
  let errors: string[];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-gpiod-'));
    errors = [];
  });
  afterEach(async () => {
    await gpio?.close(); // a second close does nothing
    gpio = null;
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** the fake tools on PATH; the library's log and failure switch in the C environment libgpiod's getenv sees */
  async function open(version: 1 | 2, options: GpiodOptions = {}): Promise<{ fake: FakeGpiod; gpio: GpiodBackend }> {
    const fake = makeFakeGpiod(dir, version);
    process.env.PATH = fake.env.PATH;
    process.env.FAKE_LIBGPIOD_LOG = fake.library.env.FAKE_LIBGPIOD_LOG;
    delete process.env.FAKE_LIBGPIOD_FAIL;
    gpio = await GpiodBackend.open(BOARD_CHIP, (m) => errors.push(m), { libraries: fake.library.libraries, ...options });
    return { fake, gpio };
  }

  it("parses the tools' version and finds the chip by its label", () => {
    expect(parseGpiodVersion('gpiomon (libgpiod) v1.6.3\nCopyright...')).to.equal(1);
    expect(parseGpiodVersion('gpiomon (libgpiod) v2.1.2')).to.equal(2);
    expect(() => parseGpiodVersion('gpiomon 3')).to.throw(/cannot tell/);
    const detect = 'gpiochip0 [pinctrl-rp1] (54 lines)\ngpiochip10 [gpio-brcmstb@107d508500] (32 lines)';
    expect(chipByLabel(detect, 'pinctrl-rp1')).to.equal('gpiochip0');
    expect(chipByLabel(detect, 'pinctrl-bcm2711')).to.equal(null);
  });

  for (const version of [1, 2] as const) {
    it(`v${version}: watches the button lines active-low with pull-ups and reports presses and releases`, async () => {
      const { fake, gpio } = await open(version);
      expect(gpio.version).to.equal(version);
      expect(gpio.chip).to.equal('gpiochip0'); // found by label, not the board's fallback name
      const edges: Array<[number, boolean]> = [];
      await gpio.watch([17, 27], (line, pressed) => edges.push([line, pressed]));
      await waitFor('gpiomon started', () => fake.calls().some((c) => c.startsWith('gpiomon')));
      fake.edge(17, true);
      fake.edge(17, false);
      fake.edge(27, true);
      await waitFor('three edges', () => edges.length === 3);
      expect(edges).to.deep.equal([
        [17, true],
        [17, false],
        [27, true],
      ]);
      expect(fake.calls()).to.deep.equal([
        version === 1
          ? 'gpiomon --active-low --bias=pull-up --line-buffered --format=%o %e gpiochip0 17 27'
          : 'gpiomon --chip gpiochip0 --active-low --bias=pull-up --edges=both --format=%o %e 17 27',
      ]);
      expect(errors).to.deep.equal([]);
    });

    it(`v${version} API: a blinking LED is one line request held open, one write per change, and no process`, async () => {
      const { fake, gpio } = await open(version);
      expect(gpio.ledApi).to.equal(version);
      const levels: boolean[] = [];
      for (let i = 0; i < 40; i++) levels.push(i % 2 === 0);
      for (const on of levels) {
        gpio.setLed(25, on);
        gpio.setLed(25, on); // unchanged: nothing written
      }
      gpio.setLed(24, true);
      await gpio.close();
      expect(fake.library.log()).to.deep.equal([
        'open /dev/gpiochip0',
        'request 25 output 1 consumer nearcast', // the first level comes with the request
        ...levels.slice(1).map((on) => `set 25 ${on ? 1 : 0}`),
        'request 24 output 1 consumer nearcast',
        'release 25',
        'release 24',
        'close',
      ]);
      expect(fake.calls(), 'processes run').to.deep.equal([]);
      expect(errors).to.deep.equal([]);
    });

    it(`v${version} API: a failing LED line is reported, requested again with the latest level, and given up on after bounded retries`, async () => {
      const { fake, gpio } = await open(version, FAST_RETRIES);
      gpio.setLed(25, true);
      process.env.FAKE_LIBGPIOD_FAIL = 'set';
      gpio.setLed(25, false);
      expect(errors).to.deep.equal([
        `LED line 25: libgpiod: ${version === 1 ? 'gpiod_line_set_value' : 'gpiod_line_request_set_value'}(line 25) failed: EIO; trying again in 20 ms`,
      ]);
      gpio.setLed(25, true); // while waiting for the retry: only remembered
      gpio.setLed(25, false);
      await waitFor('line requested again', () => fake.library.log().length === 4);
      expect(fake.library.log()).to.deep.equal(['open /dev/gpiochip0', 'request 25 output 1 consumer nearcast', 'release 25', 'request 25 output 0 consumer nearcast']);

      // a line that cannot be requested at all: three retries, then one last report, then nothing
      process.env.FAKE_LIBGPIOD_FAIL = 'request';
      gpio.setLed(24, true);
      await waitFor('given up', () => errors.some((e) => e.includes('gave up')));
      expect(errors.slice(1)).to.deep.equal([
        'LED line 24: libgpiod: ' + (version === 1 ? 'gpiod_line_request_output' : 'gpiod_chip_request_lines') + '(line 24) failed: EBUSY; trying again in 20 ms',
        'LED line 24: libgpiod: ' + (version === 1 ? 'gpiod_line_request_output' : 'gpiod_chip_request_lines') + '(line 24) failed: EBUSY; trying again in 40 ms',
        'LED line 24: libgpiod: ' + (version === 1 ? 'gpiod_line_request_output' : 'gpiod_chip_request_lines') + '(line 24) failed: EBUSY; trying again in 40 ms',
        'LED line 24: libgpiod: ' +
          (version === 1 ? 'gpiod_line_request_output' : 'gpiod_chip_request_lines') +
          '(line 24) failed: EBUSY; gave up after 3 retries, the LEDs stay as they are',
      ]);
      delete process.env.FAKE_LIBGPIOD_FAIL;
      gpio.setLed(24, false);
      gpio.setLed(25, true);
      expect(fake.library.log()).to.have.length(4); // nothing more written once given up
    });
  }

  it('a gpiomon that dies is reported and restarted; one that keeps dying is given up on after bounded retries', async () => {
    const { fake, gpio } = await open(2, FAST_RETRIES);
    const edges: Array<[number, boolean]> = [];
    await gpio.watch([17], (line, pressed) => edges.push([line, pressed]));
    await waitFor('gpiomon started', () => fake.calls().length === 1);
    process.kill(fake.monitorPid(), 'SIGKILL');
    await waitFor('gpiomon restarted', () => fake.calls().length === 2);
    expect(errors).to.deep.equal(['gpiomon exited (SIGKILL): no message; restarting it in 20 ms']);
    fake.edge(17, true);
    await waitFor('an edge through the new gpiomon', () => edges.length === 1);
    expect(edges).to.deep.equal([[17, true]]);

    fake.breakMonitor(true);
    process.kill(fake.monitorPid(), 'SIGKILL');
    await waitFor('given up', () => errors.some((e) => e.includes('gave up')));
    const busy = 'gpiomon exited (1): gpiomon: unable to request lines: Device or resource busy';
    expect(errors.slice(1)).to.deep.equal([
      'gpiomon exited (SIGKILL): no message; restarting it in 40 ms', // two deaths in a row: the delay doubles
      `${busy}; restarting it in 40 ms`,
      `${busy}; gave up after 3 restarts, the buttons do nothing now`,
    ]);
    expect(fake.calls(), 'the first run, one restart that worked, two that did not').to.have.length(4);
  });

  it('garbage from gpiomon is reported, not taken for a press', async () => {
    const { fake, gpio } = await open(2);
    const edges: unknown[] = [];
    await gpio.watch([17], (l, p) => edges.push([l, p]));
    await waitFor('gpiomon started', () => fake.calls().some((c) => c.startsWith('gpiomon')));
    fake.edge(99, true); // a line we did not ask for
    await waitFor('error reported', () => errors.length > 0);
    expect(edges).to.deep.equal([]);
    expect(errors[0]).to.match(/unexpected output '99 1'/);
  });
});
