// PipewireQuantum: the graph quantum of pipewire-pulse, from the moves of a stream's read_index.

import { expect } from 'chai';
import { PipewireQuantum } from '../../../../hardware/audio/pipewire-quantum.ts';

function fed(moves: number[]): PipewireQuantum {
  const q = new PipewireQuantum();
  for (const m of moves) q.add(m);
  return q;
}

describe('PipewireQuantum (the quantum pipewire-pulse counts as taken but not as in the sink)', () => {
  it('knows nothing before the first move', () => {
    expect(new PipewireQuantum().frames).to.equal(0);
  });

  it('a 256-frame quantum under answers every 20 ms: moves of three and four quanta', () => {
    expect(fed([768, 1024, 768, 1024, 1024, 768]).frames).to.equal(256);
  });

  it('a 1024-frame quantum: moves of one quantum, sometimes two; no move is no evidence', () => {
    expect(fed([1024, 0, 2048, 1024, 0, 1024]).frames).to.equal(1024);
  });

  it('a move that is no whole number of quanta (a short read) leaves the quantum as it was', () => {
    const q = fed([768, 1024, 768]);
    q.add(333);
    expect(q.frames, 'with the short move in the window').to.equal(256);
  });

  it('moves that show no plausible quantum (below 16 frames, or not whole frames) give none', () => {
    expect(fed([7, 14, 21]).frames).to.equal(0);
    expect(fed([256.5, -256, Number.NaN]).frames).to.equal(0);
  });

  it('follows a change of the quantum once the old moves are out of its window', () => {
    const q = fed(Array.from({ length: 40 }, () => 1024));
    expect(q.frames).to.equal(1024);
    for (let i = 0; i < 40; i++) q.add(i % 2 ? 768 : 1024);
    expect(q.frames).to.equal(256);
  });
});
