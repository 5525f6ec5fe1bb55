// `nearcast join` opens its output device before it asks the box to join: a
// listener that cannot play should find out at once, with what to use instead,
// not after the owner approved it.

import { execFile } from 'node:child_process';
import { DEFAULT_FORMAT } from '../../firmware/wire/format.ts';
import { openSink, parseSinkSpec } from '../../hardware/audio/open-sink.ts';

/** ALSA PCM names `aplay -L` lists (alsa-utils); [] when it is not installed. */
export function listAlsaPcms(timeoutMs = 3000): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('aplay', ['-L'], { timeout: timeoutMs }, (err, stdout) => {
      if (err) return resolve([]);
      resolve(
        stdout
          .split('\n')
          .filter((l) => l && !/^\s/.test(l))
          .map((l) => l.trim()),
      );
    });
  });
}

/** The advice printed when the device cannot be opened. */
export function alternatives(pcms: string[], failed: string): string {
  const others = pcms.filter((p) => p !== failed);
  const listed = others.length
    ? `ALSA PCMs on this machine (aplay -L): ${others.slice(0, 12).join(', ')}${others.length > 12 ? ', …' : ''}`
    : 'no other ALSA PCMs found (aplay -L)';
  return [
    'use another output with --device:',
    `  ${listed}`,
    '  --device sim                                      a simulated sound card (hears nothing, keeps time)',
    '  --device null                                     ALSA discards the audio',
    "  --device 'file:FILE=/tmp/nearcast.raw,FORMAT=raw'  ALSA writes the audio to a file (s16le, 48 kHz, stereo)",
  ].join('\n');
}

/** Opens and closes the device; null when it works, else the message to print. */
export async function checkOutput(device: string): Promise<string | null> {
  let spec: ReturnType<typeof parseSinkSpec>;
  try {
    spec = parseSinkSpec(device);
  } catch (e) {
    return `--device: ${(e as Error).message}`;
  }
  if (spec.kind === 'none') return `--device none: nothing to play to\n${alternatives(await listAlsaPcms(), 'none')}`;
  const sink = openSink(device, DEFAULT_FORMAT, { bufferMs: 300 });
  if (!sink) return null;
  try {
    await sink.open();
  } catch (e) {
    const why = (e as Error).message;
    return `cannot play to '${device}': ${why}\n${alternatives(await listAlsaPcms(), device)}`;
  } finally {
    await sink.close().catch(() => {});
  }
  return null;
}
