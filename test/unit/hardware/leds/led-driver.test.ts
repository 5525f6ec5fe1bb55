import { expect } from 'chai';
import sinon from 'sinon';
import { LedDriver } from '../../../../hardware/leds/led-driver.ts';
import { ledPatterns, PATTERNS } from '../../../../hardware/leds/patterns.ts';

describe('LED patterns and driver', () => {
  it('maps the box state to patterns: pending join beats share window; error beats playing', () => {
    expect(ledPatterns({ playing: true, shareOpen: false, pendingJoins: 0, error: false })).to.deep.equal({ share: PATTERNS.off, status: PATTERNS.on });
    expect(ledPatterns({ playing: true, shareOpen: true, pendingJoins: 0, error: false }).share).to.equal(PATTERNS.slowBlink);
    expect(ledPatterns({ playing: true, shareOpen: true, pendingJoins: 2, error: false }).share).to.equal(PATTERNS.fastBlink);
    expect(ledPatterns({ playing: true, shareOpen: false, pendingJoins: 0, error: true }).status).to.equal(PATTERNS.doubleFlash);
    expect(ledPatterns({ playing: false, shareOpen: false, pendingJoins: 0, error: false }).status).to.equal(PATTERNS.breathe);
  });

  it('blinks on its own timers, keeps a running pattern when shown again, and switches on change', () => {
    const clock = sinon.useFakeTimers();
    const out: string[] = [];
    const d = new LedDriver((led, on) => out.push(`${led}:${on ? 1 : 0}@${clock.now}`));
    d.show({ share: PATTERNS.slowBlink, status: PATTERNS.on });
    clock.tick(1100);
    d.show({ share: PATTERNS.slowBlink }); // unchanged: no restart
    clock.tick(400);
    d.show({ share: PATTERNS.off });
    clock.tick(2000);
    d.stop();
    clock.restore();
    expect(out).to.deep.equal(['share:1@0', 'status:1@0', 'share:0@500', 'share:1@1000', 'share:0@1500', 'share:0@1500', 'share:0@3500', 'status:0@3500']);
  });
});
