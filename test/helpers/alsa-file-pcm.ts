// Makes an ALSA configuration with one `file` PCM per name, each writing the raw
// interleaved samples it is given to its own file, paced by nothing (the slave is
// the `null` plugin). libasound reads the file named by ALSA_CONFIG_PATH *instead
// of* /usr/share/alsa/alsa.conf, so the generated config first includes the system
// one (keeping every standard PCM such as "null" and "default") and then adds ours.
// Use it by putting `env` into a child process's environment, or by assigning
// process.env.ALSA_CONFIG_PATH in the main thread (that sets the real C environment
// libasound reads; a worker's process.env is only a JS copy) before the first open.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SYSTEM_ALSA_CONF = '/usr/share/alsa/alsa.conf';

export interface FilePcmConfig<Name extends string = string> {
  /** the generated config file (the value for ALSA_CONFIG_PATH) */
  configPath: string;
  /** PCM name → raw S16 output file it writes */
  outputs: Record<Name, string>;
  /** environment for a child process: process.env plus ALSA_CONFIG_PATH */
  env: NodeJS.ProcessEnv;
}

/**
 * `names`: playback PCMs, each writing to its own raw file. `captures`: capture PCMs,
 * name → a raw s16 file that capturing reads (the file plugin's `infile`; zeros once
 * it is exhausted). Like playback through `file`, such a capture is unclocked.
 */
export function makeFilePcmConfig<const Name extends string>(dir: string, names: readonly Name[], captures: Record<string, string> = {}): FilePcmConfig<Name> {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const outputs = {} as Record<Name, string>; // filled below, one file per name
  const lines = [`<${SYSTEM_ALSA_CONF}>`, ''];
  for (const name of names) {
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`makeFilePcmConfig: PCM name '${name}' must be [A-Za-z0-9_]+`);
    if (name in outputs) throw new Error(`makeFilePcmConfig: duplicate PCM name '${name}'`);
    const file = join(root, `${name}.raw`);
    outputs[name] = file;
    lines.push(`pcm.${name} {`, '  type file', '  slave.pcm "null"', `  file "${file}"`, '  format "raw"', '}', '');
  }
  for (const [name, infile] of Object.entries(captures)) {
    if (!/^[A-Za-z0-9_]+$/.test(name) || name in outputs) throw new Error(`makeFilePcmConfig: bad or duplicate capture PCM name '${name}'`);
    lines.push(`pcm.${name} {`, '  type file', '  slave.pcm "null"', '  file "/dev/null"', `  infile "${resolve(infile)}"`, '  format "raw"', '}', '');
  }
  const configPath = join(root, 'asound.conf');
  writeFileSync(configPath, lines.join('\n'));
  return { configPath, outputs, env: { ...process.env, ALSA_CONFIG_PATH: configPath } };
}
