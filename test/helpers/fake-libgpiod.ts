// Builds the libgpiod stand-in (fake-libgpiod.c) with the system C compiler: a
// shared library under the real file name of the API asked for, so the gpiod
// backend loads it through koffi exactly as it loads the real one, by path (in
// this process) or by soname through LD_LIBRARY_PATH (a box process).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LibgpiodLibrary } from '../../hardware/gpio/libgpiod.ts';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-libgpiod.c');

export interface FakeLibgpiod {
  /** the folder holding the library, for LD_LIBRARY_PATH */
  dir: string;
  /** what to pass as the backend's `libraries` option */
  libraries: LibgpiodLibrary[];
  /** environment for the library: where it logs (set it on process.env to use it in this process) */
  env: { FAKE_LIBGPIOD_LOG: string; LD_LIBRARY_PATH: string };
  /** the events logged so far: `open /dev/gpiochip0`, `request 25 output 1 consumer nearcast`, `set 25 0`... */
  log(): string[];
}

export function buildFakeLibgpiod(dir: string, api: 1 | 2): FakeLibgpiod {
  const libDir = path.join(dir, 'lib');
  mkdirSync(libDir, { recursive: true });
  const file = path.join(libDir, api === 1 ? 'libgpiod.so.2' : 'libgpiod.so.3');
  execFileSync('gcc', ['-shared', '-fPIC', '-O1', '-Wall', '-Werror', ...(api === 2 ? ['-DLIBGPIOD_V2'] : []), '-o', file, SOURCE]);
  const logFile = path.join(dir, 'libgpiod.log');
  writeFileSync(logFile, '');
  return {
    dir: libDir,
    libraries: [{ file, api }],
    env: { FAKE_LIBGPIOD_LOG: logFile, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []),
  };
}
