import { expect } from 'chai';
import sinon from 'sinon';
import { GestureDetector } from '../../../../hardware/buttons/gestures.ts';
import type { Gesture } from '../../../../hardware/buttons/buttons.ts';

describe('GestureDetector', () => {
  let clock: sinon.SinonFakeTimers;
  let got: Gesture[];
  let g: GestureDetector;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
    got = [];
    g = new GestureDetector((x) => got.push(x));
  });
  afterEach(() => {
    g.stop();
    clock.restore();
  });

  /** a press with contact bounce: on/off/on within a few ms, then held */
  function press(holdMs: number): void {
    g.input(true);
    clock.tick(2);
    g.input(false);
    clock.tick(3);
    g.input(true);
    clock.tick(holdMs);
    g.input(false);
    clock.tick(2);
    g.input(true);
    clock.tick(2);
    g.input(false);
  }

  it('a short press is one click, once the double-click window has passed; bounces do not count', () => {
    press(100);
    clock.tick(200);
    expect(got).to.deep.equal([]);
    clock.tick(200);
    expect(got).to.deep.equal(['click']);
  });

  it('two presses within the window are a double click, not two clicks', () => {
    press(80);
    clock.tick(150);
    press(80);
    clock.tick(1000);
    expect(got).to.deep.equal(['double']);
  });

  it('a press held 800 ms is a long press, fired while still held, and its release adds nothing', () => {
    g.input(true);
    clock.tick(900);
    expect(got).to.deep.equal(['long']);
    g.input(false);
    clock.tick(1000);
    expect(got).to.deep.equal(['long']);
  });

  it('a glitch shorter than the debounce time is ignored', () => {
    g.input(true);
    clock.tick(10);
    g.input(false);
    clock.tick(2000);
    expect(got).to.deep.equal([]);
  });

  it('a click then a hold within the window gives the click, then the long press', () => {
    press(80);
    clock.tick(100);
    g.input(true);
    clock.tick(900);
    g.input(false);
    clock.tick(1000);
    expect(got).to.deep.equal(['click', 'long']);
  });

  it('presses far apart are separate clicks', () => {
    press(50);
    clock.tick(1000);
    press(50);
    clock.tick(1000);
    expect(got).to.deep.equal(['click', 'click']);
  });
});
