// The capture device behind `capture:<PCM>`: ALSA's PCM of that name, except `pulse`,
// which is read through libpulse itself (pulse-capture.ts: the server's raw timing, not
// the ALSA plugin's interpolated delay) wherever libpulse loads. `plug:pulse` still
// reaches the ALSA plugin.

import { AlsaCapture, type CaptureDevice } from './alsa-capture.ts';
import { libpulse } from './libpulse.ts';
import { PulseCapture } from './pulse-capture.ts';

export function openCaptureDevice(pcm: string): CaptureDevice {
  return pcm === 'pulse' && libpulse() ? new PulseCapture(pcm) : new AlsaCapture(pcm);
}
