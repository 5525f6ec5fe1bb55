// The PipeWire sync cases that are not steady on this 2-core machine, run by hand
// (`make pipewire-sync`); the steady one, quantum 1024, is in `make test`
// (test/integration/pipewire-sync.test.ts). The run and its judgements:
// test/helpers/pipewire-sync-run.ts. Skips only when PipeWire is not installed.
//
// - Quantum 256 (5.3 ms a cycle): the companion missed cycles in 11 of 14 quiet runs
//   (2026-12-05): bursts of one-quantum moves of its stream, up to 42 ms in all, which
//   it follows. Judged as steady unless its device stepped, then as followed.
// - PipeWire's own quantum (a desktop's): it follows the smallest latency the clients
//   ask, so it changes while the stream plays (~10–12 s in): judged as followed.
// - `pulse` through pipewire-pulse: libpulse with the server's raw timing
//   (hardware/audio/pulse-sink.ts), as on PulseAudio — what `--device pulse` reaches on a
//   PipeWire desktop. It sat one quantum late until the sink left out the quantum that
//   pipewire-pulse counts as taken (pipewire-quantum.ts): since, at 256 frames p50 0.08 ms,
//   with its own quantum p50 0.04 ms, max 0.23 ms in one run of this case (the next: a 10.6 ms
//   move near the end, not worked off when judged; since the sink waits for its answers to settle, a
//   5.4 ms move followed, p50 0.06 ms). At 1024 it is in `make test` (README "On PipeWire").

import { expectFollowed, expectSteadyUnlessStepped, measure, PLAY_S, skipWithoutPipewire, summary } from '../helpers/pipewire-sync-run.ts';

describe('sync at a clocked device on PipeWire, the cases run by hand (quantum 256, its own quantum, pipewire-pulse)', function () {
  this.timeout(120_000);

  before(skipWithoutPipewire);

  it(`a companion on PipeWire's \`pipewire\` PCM, quantum 256, plays on the box clock's schedule for ${PLAY_S} s (p95 ≤ 1 ms, max ≤ 2 ms, no resync) unless its latency really moved`, async () => {
    expectSteadyUnlessStepped(await measure(256));
  });

  it("with PipeWire's own quantum (a desktop's), the companion follows each move of its latency and is back on schedule after it", async () => {
    const run = await measure();
    console.log(`      ${summary(run)}`);
    expectFollowed(run);
  });

  it(`a companion on \`pulse\` through pipewire-pulse (libpulse, raw timing), PipeWire's own quantum: on schedule for ${PLAY_S} s (p95 ≤ 1 ms) unless its latency moved, then followed`, async () => {
    expectSteadyUnlessStepped(await measure(undefined, 'libpulse'));
  });
});
