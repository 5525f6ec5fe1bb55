// Fake libgpiod for tests: `gpiomon` and `gpiodetect` scripts put first on PATH,
// and the library stand-in (fake-libgpiod.ts) for the LEDs. A `gpioset` that only
// records its runs shows that LEDs spawn no process. The tools answer
// --version like v1 or v2 and record their arguments; gpiomon prints the events a
// test writes into its event file from then on, in the format the real tool
// prints for `--format "%o %e"` (v1: 1 rising / 0 falling; v2: 1 / 2), and exits
// at once with a message while the test has made it "broken".

import { chmodSync, mkdirSync, writeFileSync, readFileSync, existsSync, appendFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildFakeLibgpiod, type FakeLibgpiod } from './fake-libgpiod.ts';

export interface FakeGpiod {
  /** PATH with the tools, LD_LIBRARY_PATH with the library, and the library's log file */
  env: NodeJS.ProcessEnv;
  library: FakeLibgpiod;
  /** a line per tool run: `gpiomon <args>`, `gpioset <args>` */
  calls(): string[];
  /** makes the running gpiomon print an edge of `line` (logical level: true = active) */
  edge(line: number, active: boolean): void;
  /** the running gpiomon's process id (the last one started) */
  monitorPid(): number;
  /** while broken, every gpiomon started exits at once with an error */
  breakMonitor(broken: boolean): void;
}

export function makeFakeGpiod(dir: string, version: 1 | 2, label = 'pinctrl-bcm2711'): FakeGpiod {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = path.join(dir, 'calls.log');
  const events = path.join(dir, 'events');
  const pidFile = path.join(dir, 'gpiomon.pid');
  const brokenFile = path.join(dir, 'gpiomon.broken');
  writeFileSync(log, '');
  writeFileSync(events, '');
  const versionLine = version === 1 ? 'gpiomon (libgpiod) v1.6.3' : 'gpiomon (libgpiod) v2.1.2';
  const script = (body: string) => `#!/bin/bash\n${body}\n`;
  writeFileSync(path.join(bin, 'gpiodetect'), script(`echo "gpiochip0 [${label}] (58 lines)"\necho "gpiochip1 [raspberrypi-exp-gpio] (8 lines)"`));
  // the events file's size is taken before the run is logged: a test that waits for
  // the log line and then writes an edge is sure it is printed, and a restarted
  // gpiomon does not print old edges again
  writeFileSync(
    path.join(bin, 'gpiomon'),
    script(`
if [ "$1" = "--version" ] || [ "$1" = "-v" ]; then echo "${versionLine}"; exit 0; fi
from=$(( $(stat -c %s "${events}") + 1 ))
echo $$ > "${pidFile}"
echo "gpiomon $*" >> "${log}"
if [ -e "${brokenFile}" ]; then echo "gpiomon: unable to request lines: Device or resource busy" >&2; exit 1; fi
exec tail -c +$from -f "${events}"`),
  );
  writeFileSync(path.join(bin, 'gpioset'), script(`echo "gpioset $*" >> "${log}"`));
  for (const f of ['gpiodetect', 'gpiomon', 'gpioset']) chmodSync(path.join(bin, f), 0o755);
  const library = buildFakeLibgpiod(dir, version);
  return {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...library.env },
    library,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    edge: (line, active) => appendFileSync(events, `${line} ${active ? 1 : version === 1 ? 0 : 2}\n`),
    monitorPid: () => Number(readFileSync(pidFile, 'utf8')),
    breakMonitor: (broken) => (broken ? writeFileSync(brokenFile, '') : rmSync(brokenFile, { force: true })),
  };
}
