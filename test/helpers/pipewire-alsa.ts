// PipeWire's own ALSA PCM (the `pipewire` plugin of Debian's pipewire-alsa), for a
// player on PipeWire as current desktops have it: there `default` is this plugin, not
// `pulse`. The package conflicts with pulseaudio, the tests' sound server, and makes
// itself the system's ALSA default, so `make pipewire-alsa-plugin` unpacks its plugin into
// .run/pipewire-alsa unless it is installed; a private ALSA config (ALSA_CONFIG_PATH,
// which replaces /usr/share/alsa/alsa.conf: it includes that first) names the plugin by
// path and adds one PCM playing into a given PipeWire node.

import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './box-process.ts';
import { SYSTEM_ALSA_CONF } from './alsa-file-pcm.ts';

const PLUGIN = 'libasound_module_pcm_pipewire.so';

/** the plugin's path: installed (pipewire-alsa) or unpacked by `make test-setup`; null when neither */
export function pipewireAlsaPlugin(): string | null {
  for (const usr of ['/usr', path.join(ROOT, '.run/pipewire-alsa/usr')]) {
    const lib = path.join(usr, 'lib');
    if (!existsSync(lib)) continue;
    for (const arch of readdirSync(lib)) {
      const so = path.join(lib, arch, 'alsa-lib', PLUGIN);
      if (existsSync(so)) return so;
    }
  }
  return null;
}

/** Writes `dir`/asound.conf with PCM `pcm` playing into PipeWire node `node`; its environment for a player process. */
export function pipewireAlsaConfig(dir: string, node: string, pcm = 'nc_pipewire'): { env: Record<string, string>; pcm: string } {
  const plugin = pipewireAlsaPlugin();
  if (!plugin) throw new Error(`PipeWire's ALSA plugin (${PLUGIN}) is neither installed nor unpacked in .run/pipewire-alsa: run make pipewire-alsa-plugin`);
  if (!/^[A-Za-z0-9_]+$/.test(pcm) || !/^[A-Za-z0-9_.-]+$/.test(node)) throw new Error(`pipewireAlsaConfig: bad PCM '${pcm}' or node '${node}'`);
  const configPath = path.join(dir, 'asound.conf');
  writeFileSync(
    configPath,
    [
      `<${SYSTEM_ALSA_CONF}>`,
      '',
      `pcm_type.pipewire { lib "${plugin}" }`,
      `pcm.${pcm} {`,
      '  type pipewire',
      `  playback_node "${node}"`,
      `  capture_node "${node}"`,
      '}',
      '',
    ].join('\n'),
  );
  return { env: { ALSA_CONFIG_PATH: configPath }, pcm };
}
