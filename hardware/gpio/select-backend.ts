// hardware.buttons.backend: auto picks what this machine has.

import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type BackendChoice = 'auto' | 'gpiod' | 'onoff' | 'sim';

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

export function chooseBackend(
  choice: BackendChoice,
  sim: boolean,
  probe = { gpiomon: () => onPath('gpiomon'), chardev: () => existsSync('/dev/gpiochip0'), sysfs: () => existsSync('/sys/class/gpio') },
): 'gpiod' | 'onoff' | 'sim' {
  if (choice !== 'auto') return choice;
  if (sim) return 'sim';
  if (probe.gpiomon() && probe.chardev()) return 'gpiod';
  if (probe.sysfs()) return 'onoff';
  return 'sim';
}
