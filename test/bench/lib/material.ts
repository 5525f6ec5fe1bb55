// Material for cross-correlation at a recorded sink: band-limited noise under a
// wandering envelope, different in each channel, so every 0.5 s window has one
// sharp correlation peak and no periodic echo over the lags searched.

import { execFileSync } from 'node:child_process';

/** Writes `seconds` of such material, 48 kHz s16 stereo, to `file` (any container ffmpeg infers from the name). */
export function makeCorrelationMaterial(file: string, seconds: number): void {
  const voice = (k: number) => `(0.55+0.35*sin(2*PI*0.23*t+${k}))*0.35*(2*random(${k})-1)`;
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=exprs='${voice(0)}|${voice(1)}':s=48000:d=${seconds}`,
    '-af',
    'lowpass=f=4000',
    '-ac',
    '2',
    '-ar',
    '48000',
    '-sample_fmt',
    's16',
    file,
  ]);
}
