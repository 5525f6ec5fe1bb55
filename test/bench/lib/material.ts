// Material for cross-correlation at a recorded sink: band-limited noise under a
// wandering envelope, different in each channel (optionally with a gliding tone),
// so every 0.5 s window has one sharp correlation peak and no periodic echo over
// the lags searched.

import { execFileSync } from 'node:child_process';

export interface MaterialOptions {
  /** lowpass corner, Hz (default 4000) */
  lowpassHz?: number;
  /** add a quiet tone gliding around 220 Hz (default false) */
  glide?: boolean;
}

/** Writes `seconds` of such material, 48 kHz s16 stereo, to `file` (any container ffmpeg infers from the name). */
export function makeCorrelationMaterial(file: string, seconds: number, o: MaterialOptions = {}): void {
  const glide = (k: number) => (o.glide ? `+0.12*sin(2*PI*(220+60*sin(2*PI*0.13*t+${k}))*t)` : '');
  const voice = (k: number) => `(0.55+0.35*sin(2*PI*0.23*t+${k}))*0.35*(2*random(${k})-1)${glide(k)}`;
  const lavfi = `aevalsrc=exprs='${voice(0)}|${voice(1)}':s=48000:d=${seconds}`;
  const args = ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', lavfi, '-af', `lowpass=f=${o.lowpassHz ?? 4000}`];
  execFileSync('ffmpeg', [...args, '-ac', '2', '-ar', '48000', '-sample_fmt', 's16', file]);
}
