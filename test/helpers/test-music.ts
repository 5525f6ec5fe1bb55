// Small tagged test tracks made by ffmpeg: aperiodic (noise plus tones) so that
// a stretch of output lines up with exactly one place in the source.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export interface TestTrack { file: string; title: string; artist: string }

export function makeTestMusic(dir: string, seconds = 20): TestTrack[] {
  mkdirSync(dir, { recursive: true });
  const specs = [
    { name: 'moon.flac', title: 'Moon River', artist: 'Demo Quartet', f: [330, 415] },
    { name: 'cafe.flac', title: 'Café Olé', artist: 'Beyoncé Tribute', f: [262, 392] },
    { name: 'tsuki.flac', title: '月の光', artist: '夜の楽団', f: [220, 277] },
  ];
  return specs.map((s, i) => {
    const file = path.join(dir, s.name);
    const expr = `0.25*sin(2*PI*${s.f[0]}*t)*(0.6+0.4*sin(2*PI*0.7*t))+0.15*random(${i * 2})|0.25*sin(2*PI*${s.f[1]}*t)*(0.6+0.4*cos(2*PI*0.5*t))+0.15*random(${i * 2 + 1})`;
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc=exprs='${expr}':s=48000:d=${seconds}`,
      '-ac', '2', '-ar', '48000', '-sample_fmt', 's16', '-metadata', `title=${s.title}`, '-metadata', `artist=${s.artist}`, '-metadata', 'album=Test Album', file]);
    return { file, title: s.title, artist: s.artist };
  });
}
