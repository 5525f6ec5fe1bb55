// The graph quantum of a PipeWire server, as a libpulse stream can see it.
//
// pipewire-pulse (PipeWire's PulseAudio server) takes one quantum of a playback stream
// into its graph each cycle and counts it in the stream's read_index at once, but the
// latency it answers (sink_usec) leaves that quantum out: read_index − sink_usec·rate
// runs up to one quantum ahead of what is out of the sink (README "On PipeWire";
// measured +5.1 ms at 256 frames, +20.4 ms at 1024). The protocol does not tell the
// quantum; it shows in the read_index itself, which moves by whole quanta while the
// stream plays. So the quantum is the greatest common divisor of the recent moves.

/** PipeWire's limits for a quantum (clock.min-quantum … clock.quantum-limit) */
const MIN_QUANTUM = 16;
const MAX_QUANTUM = 8192;
/** moves taken into the divisor: at one timing answer every 20 ms, the last ~0.6 s */
const MOVES_KEPT = 32;

const gcd = (a: number, b: number): number => {
  while (b) [a, b] = [b, a % b];
  return a;
};

export class PipewireQuantum {
  private moves: number[] = [];
  private quantum = 0;

  /** the quantum in frames; 0 until moves have shown one */
  get frames(): number {
    return this.quantum;
  }

  /**
   * Takes one move of read_index between two answers while the stream played, in frames.
   * A move that is no whole number of quanta (the stream ran short, the server resampled)
   * leaves the quantum as it was until it is out of the window.
   */
  add(frames: number): void {
    if (!(Number.isInteger(frames) && frames > 0)) return;
    this.moves.push(frames);
    if (this.moves.length > MOVES_KEPT) this.moves.shift();
    const divisor = this.moves.reduce(gcd);
    if (divisor >= MIN_QUANTUM && divisor <= MAX_QUANTUM) this.quantum = divisor;
  }
}
