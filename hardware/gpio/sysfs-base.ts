// sysfs GPIO numbers are not BCM line numbers on every kernel: each chip starts at
// its own base (0 on older Raspberry Pi kernels, 512+ on Pi 5 and recent ones). The
// base of the chip whose label matches the board's is added to the line.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface SysfsChip {
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

export function sysfsChips(root = '/sys/class/gpio'): SysfsChip[] {
  let entries: string[];
  try {
    entries = readdirSync(root).filter((e) => /^gpiochip\d+$/.test(e));
  } catch (e) {
    throw new Error(`sysfs GPIO is not available (${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); use the gpiod backend`);
  }
  const read = (chip: string, f: string) => readFileSync(path.join(root, chip, f), 'utf8').trim();
  return entries.map((name) => ({ name, label: read(name, 'label'), base: Number(read(name, 'base')), ngpio: Number(read(name, 'ngpio')) }));
}

/** The sysfs number of `line` on the chip labelled `label`. */
export function sysfsNumber(line: number, label: string, root = '/sys/class/gpio'): number {
  const chips = sysfsChips(root);
  const chip = chips.find((c) => c.label === label);
  if (!chip) throw new Error(`no GPIO chip labelled '${label}' in ${root} (found: ${chips.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none'})`);
  if (line >= chip.ngpio) throw new Error(`GPIO line ${line} is beyond ${chip.name} [${label}] (${chip.ngpio} lines)`);
  return chip.base + line;
}
