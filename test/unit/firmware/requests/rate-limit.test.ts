import { expect } from 'chai';
import { RateLimiter } from '../../../../firmware/requests/rate-limit.ts';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the configured rate, per client', () => {
    let now = 0;
    const rl = new RateLimiter(60, 3, () => now);
    expect([rl.take('a'), rl.take('a'), rl.take('a')]).to.deep.equal([0, 0, 0]);
    expect(rl.take('a')).to.equal(1000);
    expect(rl.take('b')).to.equal(0);
    now += 1000;
    expect(rl.take('a')).to.equal(0);
    expect(rl.take('a')).to.be.greaterThan(0);
  });
});
