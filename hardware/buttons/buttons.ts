// Buttons as the box sees them: named buttons producing gestures. Backends (GPIO
// through onoff or libgpiod, the keyboard twin) emit the same events.

import type { EventEmitter } from 'node:events';

export type ButtonName = 'share' | 'playPause' | 'next' | 'volumeUp' | 'volumeDown';
export type Gesture = 'click' | 'double' | 'long';

export interface ButtonEvent {
  button: ButtonName;
  gesture: Gesture;
}

export interface ButtonSource extends EventEmitter<{ press: [ButtonEvent]; quit: [] }> {
  start(): void;
  stop(): void;
}
