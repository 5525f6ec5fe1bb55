// Fake libgpiod tools for tests: `gpiomon`, `gpioset` and `gpiodetect` scripts put
// first on PATH. They answer --version like v1 or v2, record their arguments, and
// gpiomon prints the events a test writes into its event file, in the format the
// real tool prints for `--format "%o %e"` (v1: 1 rising / 0 falling; v2: 1 / 2).

import { chmodSync, mkdirSync, writeFileSync, readFileSync, existsSync, appendFileSync } from 'node:fs';
import path from 'node:path';

export interface FakeGpiod {
  env: NodeJS.ProcessEnv;
  /** a line per tool run: `gpiomon <args>` / `gpioset <args>` */
  calls(): string[];
  /** makes the running gpiomon print an edge of `line` (logical level: true = active) */
  edge(line: number, active: boolean): void;
}

export function makeFakeGpiod(dir: string, version: 1 | 2, label = 'pinctrl-bcm2711'): FakeGpiod {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = path.join(dir, 'calls.log');
  const events = path.join(dir, 'events');
  writeFileSync(log, '');
  writeFileSync(events, '');
  const versionLine = version === 1 ? 'gpiomon (libgpiod) v1.6.3' : 'gpiomon (libgpiod) v2.1.2';
  const script = (body: string) => `#!/bin/bash\n${body}\n`;
  writeFileSync(path.join(bin, 'gpiodetect'), script(`echo "gpiochip0 [${label}] (58 lines)"\necho "gpiochip1 [raspberrypi-exp-gpio] (8 lines)"`));
  writeFileSync(path.join(bin, 'gpiomon'), script(`
if [ "$1" = "--version" ] || [ "$1" = "-v" ]; then echo "${versionLine}"; exit 0; fi
echo "gpiomon $*" >> "${log}"
exec tail -n +1 -f "${events}"`));
  writeFileSync(path.join(bin, 'gpioset'), script(`
echo "gpioset $*" >> "${log}"
exec sleep 3600`));
  for (const f of ['gpiodetect', 'gpiomon', 'gpioset']) chmodSync(path.join(bin, f), 0o755);
  return {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    edge: (line, active) => appendFileSync(events, `${line} ${active ? 1 : version === 1 ? 0 : 2}\n`),
  };
}
