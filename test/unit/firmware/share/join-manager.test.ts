import { expect } from 'chai';
import sinon from 'sinon';
import { JoinManager } from '../../../../firmware/share/join-manager.ts';
import { ShareWindow } from '../../../../firmware/share/share-window.ts';

describe('JoinManager and ShareWindow', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 1_000_000 }); });
  afterEach(() => clock.restore());

  const make = (policy: 'button' | 'approve' | 'open', listeners = 0) => {
    const w = new ShareWindow(120);
    return { w, jm: new JoinManager(policy, w, () => ({ listeners, max: 3 })) };
  };

  it('policy button: a join with the window closed is pending until approved', () => {
    const { jm } = make('button');
    expect(jm.request('a', {}, 't1', false)).to.deep.equal({ kind: 'pending', position: 1 });
    const decided = sinon.spy();
    jm.on('decided', decided);
    expect(jm.approve()?.clientId).to.equal('a');
    expect(decided.firstCall.args[0]).to.deep.include({ approved: true });
    expect(decided.firstCall.args[0].pending.transaction).to.equal('t1');
    expect(jm.pending).to.have.length(0);
  });

  it('policy button: joins inside the open window are accepted, and the window closes by itself', () => {
    const { w, jm } = make('button');
    const changes: Array<{ open: boolean }> = [];
    w.on('change', (s) => changes.push(s));
    w.open();
    expect(jm.request('a', {}, undefined, false).kind).to.equal('accept');
    expect(w.remainingMs).to.equal(120_000);
    clock.tick(120_001);
    expect(w.isOpen).to.equal(false);
    expect(changes.map((c) => c.open), 'closing by itself is announced (state, WPS, LEDs follow it)').to.deep.equal([true, false]);
    expect(jm.request('b', {}, undefined, false).kind).to.equal('pending');
  });

  it('policy approve always asks, except for the owner; policy open accepts everyone', () => {
    const a = make('approve');
    a.w.open();
    expect(a.jm.request('x', {}, undefined, false).kind).to.equal('pending');
    expect(a.jm.request('owner', {}, undefined, true).kind).to.equal('accept');
    expect(make('open').jm.request('y', {}, undefined, false).kind).to.equal('accept');
  });

  it('approves the oldest first, denies with a reason, and forgets a client that withdraws', () => {
    const { jm } = make('approve');
    jm.request('a', {}, undefined, false);
    jm.request('b', {}, undefined, false);
    jm.request('c', {}, undefined, false);
    jm.withdraw('a');
    const decided = sinon.spy();
    jm.on('decided', decided);
    expect(jm.deny('c', 'not today')?.clientId).to.equal('c');
    expect(decided.firstCall.args[0]).to.deep.include({ approved: false, reason: 'not today' });
    expect(jm.approve()?.clientId).to.equal('b');
    expect(jm.approve()).to.equal(undefined);
  });

  it('a full box rejects joins with the reason', () => {
    const { jm } = make('open', 3);
    expect(jm.request('z', {}, undefined, false)).to.deep.equal({ kind: 'reject', reason: 'the box is full (3 listeners)' });
  });
});
