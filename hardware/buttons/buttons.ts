// Buttons as the box sees them: named buttons producing gestures. Backends (GPIO
// through onoff or libgpiod, the keyboard twin) emit the same events.

export type ButtonName = 'share' | 'playPause' | 'next' | 'volumeUp' | 'volumeDown';
export type Gesture = 'click' | 'double' | 'long';

export interface ButtonEvent {
  button: ButtonName;
  gesture: Gesture;
}

export interface ButtonSource {
  on(event: 'press', cb: (e: ButtonEvent) => void): this;
  on(event: 'quit', cb: () => void): this;
  start(): void;
  stop(): void;
}
