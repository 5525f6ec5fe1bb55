import { expect } from 'chai';
import { Outage, seconds, worthRejoining, DEFAULT_REJOIN } from '../../../../companion/cli/rejoin.ts';
import { ErrorCode, FrameType } from '../../../../firmware/wire/frames.ts';

describe('rejoin rules', () => {
  it('waits 0.5 s doubling to 10 s, and the last wait ends at the timeout', () => {
    let now = 0;
    const outage = new Outage('stream ended', { ...DEFAULT_REJOIN, timeoutMs: 30_000 }, () => now);
    const delays: number[] = [];
    for (let d = outage.nextDelayMs(); d !== null && delays.length < 50; d = outage.nextDelayMs()) {
      delays.push(d);
      now += d + 100; // each attempt takes 100 ms
    }
    expect(delays.slice(0, 7)).to.deep.equal([500, 1000, 2000, 4000, 8000, 10_000, 3900]);
    expect(delays).to.have.length(7);
    expect(outage.attemptCount).to.equal(7);
  });

  it('a timeout of 0 gives up at once; bad timing is refused', () => {
    expect(new Outage('x', { ...DEFAULT_REJOIN, timeoutMs: 0 }).nextDelayMs()).to.equal(null);
    expect(() => new Outage('x', { firstDelayMs: 0, maxDelayMs: 10, timeoutMs: 5 })).to.throw(RangeError, /firstDelayMs/);
    expect(() => new Outage('x', { firstDelayMs: 20, maxDelayMs: 10, timeoutMs: 5 })).to.throw(RangeError);
  });

  it('joins again after a restart or a broken connection, not after being removed or refused', () => {
    const error = (code: number) => ({ type: FrameType.Error, code, reason: 'r' }) as const;
    expect(worthRejoining(null)).to.equal(true);
    expect(worthRejoining(error(ErrorCode.ServerShutdown))).to.equal(true);
    for (const code of [ErrorCode.Kicked, ErrorCode.BadFrame, ErrorCode.BadToken, ErrorCode.UnsupportedVersion]) expect(worthRejoining(error(code)), String(code)).to.equal(false);
  });

  it('says seconds the way the messages do', () => {
    expect([seconds(500), seconds(2000), seconds(7140)]).to.deep.equal(['0.5 s', '2 s', '7.1 s']);
  });
});
