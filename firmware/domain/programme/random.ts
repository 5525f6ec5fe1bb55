// A small seedable random source (sfc32) whose whole state is four 32-bit words.
// The scheduler keeps that state with the rest of its own, so that after a power-on
// the box goes on with the same sequence, and so that `upcoming()` can plan on a
// copy and predict exactly what `next()` will pick. Math.random can do neither.

export type RandomState = [number, number, number, number];

/** splitmix32: spreads one seed over four words so that nearby seeds give unrelated sequences. */
function expand(seed: number): RandomState {
  let x = seed >>> 0;
  const word = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return [word(), word(), word(), word()];
}

export class SeededRandom {
  private words: RandomState;

  /** From a seed (any number; only its low 32 bits count) or from a saved state. */
  constructor(seed: number | RandomState) {
    this.words = typeof seed === 'number' ? expand(seed) : [seed[0] >>> 0, seed[1] >>> 0, seed[2] >>> 0, seed[3] >>> 0];
    // sfc32 must not start from all zeros; a few rounds mix a weak saved state
    if (this.words.every((w) => w === 0)) this.words = expand(0);
    for (let round = 0; round < 12; round++) this.word();
  }

  /** The next 32-bit word. */
  word(): number {
    let [a, b, c, d] = this.words;
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    this.words = [a >>> 0, b, c, d];
    return t;
  }

  /** A number in [0, 1). */
  next(): number {
    return this.word() / 4294967296;
  }

  /** An integer in [0, count); 0 when count < 1. */
  below(count: number): number {
    return count >= 1 ? Math.floor(this.next() * Math.floor(count)) : 0;
  }

  state(): RandomState {
    return [...this.words];
  }

  /** A copy that goes on from the same state; drawing from it leaves this one as it is. */
  copy(): SeededRandom {
    const twin = new SeededRandom(0);
    twin.words = this.state();
    return twin;
  }

  /** Rebuilds from a saved state without the warm-up rounds, so the sequence continues exactly. */
  static restore(state: RandomState): SeededRandom {
    const restored = new SeededRandom(0);
    restored.words = [state[0] >>> 0, state[1] >>> 0, state[2] >>> 0, state[3] >>> 0];
    if (restored.words.every((w) => w === 0)) restored.words = expand(0);
    return restored;
  }
}
