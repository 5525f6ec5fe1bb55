import { expect } from 'chai';
import { RetryBudget } from '../../../../hardware/gpio/retry-budget.ts';

describe('RetryBudget', () => {
  it('doubles the delay up to its cap, gives up after maxRetries failures in a row, and starts over after a success', () => {
    const budget = new RetryBudget({ firstDelayMs: 100, maxDelayMs: 300, maxRetries: 4 });
    expect([budget.failed(), budget.failed(), budget.failed(), budget.failed(), budget.failed()]).to.deep.equal([100, 200, 300, 300, null]);
    expect(budget.failuresInARow).to.equal(5);
    budget.succeeded();
    expect(budget.failed()).to.equal(100);
  });

  it('no retries at all: the first failure gives up', () => {
    expect(new RetryBudget({ firstDelayMs: 1, maxDelayMs: 1, maxRetries: 0 }).failed()).to.equal(null);
  });

  it('refuses options that make no sense, saying which', () => {
    for (const bad of [
      { firstDelayMs: 0, maxDelayMs: 10, maxRetries: 1 },
      { firstDelayMs: 10, maxDelayMs: 5, maxRetries: 1 },
      { firstDelayMs: 1, maxDelayMs: 5, maxRetries: 1.5 },
    ]) {
      expect(() => new RetryBudget(bad)).to.throw(/retry options must have 0 < firstDelayMs <= maxDelayMs and a whole maxRetries >= 0/);
    }
  });
});
