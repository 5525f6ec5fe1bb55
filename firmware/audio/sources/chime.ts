// The chime before an announcement: two soft tones, each a whole number of cycles
// long so that it starts and ends at a zero crossing (no click).

import { DEFAULT_FORMAT, type PcmFormat } from '../../wire/format.ts';
import type { PcmSource } from '../types.ts';
import { ToneSource } from './tone-source.ts';

export function chime(format: PcmFormat = DEFAULT_FORMAT): PcmSource[] {
  return [
    new ToneSource({ hz: 660, amplitude: 0.3, durationMs: 250, format }), // 165 cycles
    new ToneSource({ hz: 880, amplitude: 0.3, durationMs: 375, format }), // 330 cycles
  ];
}
