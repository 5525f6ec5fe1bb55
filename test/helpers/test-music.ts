// Small tagged test tracks made by ffmpeg: music-like (tones whose pitch and
// loudness wander at incommensurate rates, a whisper of noise) so that a stretch
// of output lines up with exactly one place in the source, and a lossy codec
// can still reproduce the waveform.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export interface TestTrack {
  file: string;
  title: string;
  artist: string;
  isrc?: string;
}

export function makeTestMusic(dir: string, seconds = 20): TestTrack[] {
  mkdirSync(dir, { recursive: true });
  const specs = [
    { name: 'moon.flac', title: 'Moon River', artist: 'Demo Quartet', f: [330, 415] as const, isrc: 'QZDA41234567' },
    { name: 'cafe.flac', title: 'Café Olé', artist: 'Beyoncé Tribute', f: [262, 392] as const, isrc: undefined },
    { name: 'tsuki.flac', title: '月の光', artist: '夜の楽団', f: [220, 277] as const, isrc: undefined },
  ];
  return specs.map((s, i) => {
    const file = path.join(dir, s.name);
    const voice = (f: number, k: number) =>
      `0.22*sin(2*PI*${f}*t+3*sin(2*PI*0.37*t))*(0.6+0.4*sin(2*PI*0.71*t+${k}))+0.12*sin(2*PI*${f * 1.5}*t+2*sin(2*PI*0.23*t))+0.08*sin(2*PI*${f * 2.01}*t)*sin(2*PI*1.3*t)+0.004*random(${k})`;
    const [low, high] = s.f;
    const expr = `${voice(low, i * 2)}|${voice(high, i * 2 + 1)}`;
    execFileSync('ffmpeg', [
      '-nostdin',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `aevalsrc=exprs='${expr}':s=48000:d=${seconds}`,
      '-ac',
      '2',
      '-ar',
      '48000',
      '-sample_fmt',
      's16',
      '-metadata',
      `title=${s.title}`,
      '-metadata',
      `artist=${s.artist}`,
      '-metadata',
      'album=Test Album',
      ...(s.isrc ? ['-metadata', `ISRC=${s.isrc}`] : []),
      file,
    ]);
    return { file, title: s.title, artist: s.artist, ...(s.isrc ? { isrc: s.isrc } : {}) };
  });
}
