import { expect } from 'chai';
import sinon from 'sinon';
import { FifoRing } from '../../../../firmware/audio/fifo.ts';
import { ShareWindow } from '../../../../firmware/domain/share-window.ts';
import { RateLimiter } from '../../../../firmware/requests/rate-limit.ts';
import { ListenerSession } from '../../../../firmware/stream/listener-session.ts';
import { StreamTokens } from '../../../../firmware/stream/stream-tokens.ts';
import type { StreamTransport } from '../../../../firmware/stream/transport.ts';
import { monotonicUs } from '../../../../firmware/util/time.ts';
import { DEFAULT_FORMAT } from '../../../../firmware/wire/format.ts';
import { FrameType } from '../../../../firmware/wire/frames.ts';

// A box without a real-time clock steps its wall clock at the first NTP sync, often by
// hours (README.md "Reliability"). Durations run on the monotonic clock, so such a step
// is not time waited. setSystemTime moves Date only; the fake hrtime moves with tick().
const STEP_MS = 3 * 3600_000;

function fakeTransport() {
  const closed: string[] = [];
  const transport: StreamTransport = {
    remote: '127.0.0.1:1',
    send: () => true,
    bufferedBytes: 0,
    onData: () => {},
    onDrain: () => {},
    onClose: () => {},
    close: () => closed.push('closed'),
  };
  return { transport, closed };
}

describe('a wall-clock step is not time waited', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'hrtime'] });
  });
  afterEach(() => clock.restore());

  it('a listener is kicked after 30 s without a byte, not when the wall clock jumps 3 h', () => {
    const { transport, closed } = fakeTransport();
    const session = new ListenerSession({
      clientId: 'bob',
      name: 'bob',
      codec: 'pcm',
      transport,
      fifo: new FifoRing(),
      header: () => ({ type: FrameType.CodecHeader, version: 1, codec: 'pcm', ...DEFAULT_FORMAT, chunkMs: 20, codecDelayFrames: 0, latencyMs: 400 }),
      clock: monotonicUs,
      joinLeadUs: 100_000,
    });
    const reasons: string[] = [];
    session.on('close', (r) => reasons.push(r));
    clock.setSystemTime(Date.now() + STEP_MS);
    clock.tick(2_000);
    expect(closed, `closed after a wall-clock step and 2 s: ${reasons.join('; ')}`).to.deep.equal([]);
    clock.tick(30_000);
    expect(reasons, 'after 32 s of silence').to.deep.equal(['no data from the listener for 30 s']);
  });

  it('a share window stays open, a stream token stays valid and a rate limit stays spent across a step', () => {
    const share = new ShareWindow(120);
    const tokens = new StreamTokens(10_000);
    const limiter = new RateLimiter(60, 1);
    share.open();
    const token = tokens.issue('bob', 'pcm');
    expect(limiter.take('bob'), 'first request').to.equal(0);
    clock.setSystemTime(Date.now() + STEP_MS);
    expect(share.snapshot(), 'share window after the step').to.deep.equal({ open: true, remainingMs: 120_000 });
    expect(limiter.take('bob'), 'ms to wait after the step').to.be.within(990, 1000);
    expect(tokens.consume(token), 'token after the step').to.deep.include({ clientId: 'bob' });
    const later = tokens.issue('bob', 'pcm');
    clock.tick(10_001);
    expect(tokens.consume(later), 'token after its 10 s').to.equal(undefined);
    clock.tick(110_000);
    expect(share.snapshot().open, 'share window after its 120 s').to.equal(false);
  });
});
