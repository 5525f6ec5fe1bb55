// The short version of `make soak` (test/soak/soak.ts): a real box process (the
// deployed bundle) attacked from many loopback addresses while an honest
// listener plays. The full run's figures are in README.md, "Reliability".

import { expect } from 'chai';
import { runSoak, type SoakResult } from '../soak/soak.ts';

describe('soak (short): the box under attack from nearby', function () {
  this.timeout(900_000);
  let r: SoakResult;
  before(async () => {
    r = await runSoak(true, () => {});
  });

  const figures = () =>
    JSON.stringify({ phases: r.phases, rss: r.rss, fds: r.fds, honest: r.honest, refused: r.refused, state: r.state, capture: r.capture, vanished: r.vanished });

  it('the honest listener is still playing at the end, on the stream it started with', () => {
    expect(r.honest.playing, figures()).to.equal(true);
    expect(r.honest.lostStream, `it had to join again: ${figures()}`).to.equal(0);
  });

  it('memory and file descriptors come back: RSS within 10 MB of the start and never over 150 MB; fds at their start count', () => {
    expect(r.rss.maxMB, figures()).to.be.at.most(150);
    expect(r.rss.endMB - r.rss.startMB, figures()).to.be.at.most(10);
    expect(r.fds.end, figures()).to.be.at.most(r.fds.start);
  });

  it('listeners whose network vanished (no close) are all gone from the box within 31 s (plus slack)', () => {
    expect(r.vanished.listeners, figures()).to.be.greaterThan(0);
    expect(r.vanished.freedMs, figures()).to.be.a('number').and.at.most(36_000);
  });

  it('no acknowledged change is lost to kill -9, and the box always restarts', () => {
    expect(r.state.kills, figures()).to.be.greaterThan(0);
    expect(r.state.lost, figures()).to.equal(0);
  });

  it('an unplugged capture is reported on event/error, retried, and back once plugged in again', () => {
    expect(r.capture.unplugs, figures()).to.be.greaterThan(0);
    expect(r.capture.errors, figures()).to.be.at.least(r.capture.unplugs);
    expect(r.capture.recovered, figures()).to.equal(r.capture.unplugs);
  });

  it('every kind of attack was refused and counted in telemetry', () => {
    for (const kind of ['bad_request', 'mqtt_packet_size', 'stream_hello', 'stream_token', 'login_failed', 'stream_control_replies']) {
      expect(r.refused[kind] ?? 0, `${kind}: ${figures()}`).to.be.greaterThan(0);
    }
  });
});
