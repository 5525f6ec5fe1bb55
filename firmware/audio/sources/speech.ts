// Text spoken by espeak-ng (Debian `espeak-ng`), for announcements: written to a WAV
// file that a FileSource then decodes like any track. Bounded in text length and time.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const MAX_SPEECH_CHARS = 500;
const SPEAK_TIMEOUT_MS = 15_000;

export interface SpeechOptions {
  /** espeak-ng voice, e.g. `en`, `de`, `en-us` */
  voice: string;
  /** where the WAV files go (deleted by the caller once played) */
  dir: string;
  program?: string;
}

let counter = 0;

/** Speaks `text` into a new WAV file and resolves with its path; rejects with a reason a person can act on. */
export function synthesize(text: string, options: SpeechOptions): Promise<string> {
  if (text.trim() === '' || text.length > MAX_SPEECH_CHARS) return Promise.reject(new RangeError(`announcement text must be 1-${MAX_SPEECH_CHARS} characters, got ${text.length}`));
  if (!/^[a-z]{2,3}([-_][a-z0-9]{1,8})*$/i.test(options.voice)) return Promise.reject(new RangeError(`'${options.voice}' is not an espeak-ng voice name (e.g. en, de, en-us)`));
  fs.mkdirSync(options.dir, { recursive: true });
  const file = path.join(options.dir, `speech-${process.pid}-${Date.now()}-${counter++}.wav`);
  return new Promise((resolve, reject) => {
    // the text after `--` is never read as an option
    execFile(options.program ?? 'espeak-ng', ['-v', options.voice, '-w', file, '--', text], { timeout: SPEAK_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) return resolve(file);
      fs.rmSync(file, { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      reject(new Error(code === 'ENOENT' ? 'espeak-ng is not installed (Debian package espeak-ng)' : `espeak-ng failed: ${String(stderr).trim().slice(0, 200) || error.message}`));
    });
  });
}
