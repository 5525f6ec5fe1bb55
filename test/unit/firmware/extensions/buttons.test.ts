import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { ButtonEvent, ButtonSource } from '../../../../hardware/buttons/buttons.ts';
import { BoxEvents } from '../../../../firmware/domain/box-events.ts';
import type { Caller } from '../../../../firmware/domain/caller.ts';
import { Buttons, parseSimButton } from '../../../../firmware/extensions/buttons.ts';
import type { Reply } from '../../../../firmware/wire/requests.ts';

/** a router that records what it is asked and answers from a table (the real router is tested on its own) */
function router(answers: Record<string, Reply | ((body: Record<string, unknown>) => Reply)>) {
  const asked: Array<{ caller: Caller; op: string; body: Record<string, unknown> }> = [];
  return {
    asked,
    ask: async (caller: Caller, op: string, body: Record<string, unknown>): Promise<Reply> => {
      asked.push({ caller, op, body });
      const answer = answers[op] ?? { status: 'error', error: `no answer for ${op}` };
      return typeof answer === 'function' ? answer(body) : answer;
    },
  };
}

class FakeButtons extends EventEmitter<{ press: [ButtonEvent]; quit: [] }> implements ButtonSource {
  started = false;
  start(): void {
    this.started = true;
  }
  stop(): void {
    this.started = false;
  }
}

describe("Buttons (the box's buttons act through the request router)", () => {
  it('each press is a request made as the owner-rights BUTTONS caller, and what it did is told on the bus', async () => {
    const r = router({
      approve: { status: 'error', error: 'no join is waiting for approval' },
      share: (b) => ({ status: 'ok', data: b.action === 'stop' ? { open: false, remainingMs: 0, refused: 2, disconnected: 1 } : { open: true, remainingMs: 120_000 } }),
      control: (b) => ({ status: 'ok', data: { state: b.action === 'toggle' ? 'paused' : 'playing' } }),
      volume: (b) => ({ status: 'ok', data: { volume: 50 + (b.delta as number) } }),
    });
    const events = new BoxEvents();
    const told: string[] = [];
    events.on('button', (e) => told.push(`${e.button} ${e.gesture}: ${e.effect}`));
    const source = new FakeButtons();
    const buttons = new Buttons({ sources: [source], router: r, events });
    buttons.start();
    expect(source.started).to.equal(true);
    expect(await buttons.press({ button: 'share', gesture: 'click' })).to.equal('opened the share window');
    expect(await buttons.press({ button: 'share', gesture: 'long' })).to.equal('sharing stopped: 1 listener(s) disconnected, 2 waiting join(s) refused');
    expect(await buttons.press({ button: 'playPause', gesture: 'click' })).to.equal('paused');
    expect(await buttons.press({ button: 'next', gesture: 'click' })).to.equal('next track');
    expect(await buttons.press({ button: 'volumeDown', gesture: 'click' })).to.equal('volume 45');
    expect(r.asked.map((a) => `${a.op} ${JSON.stringify(a.body)}`)).to.deep.equal([
      'approve {}',
      'share {"action":"open"}',
      'share {"action":"stop"}',
      'control {"action":"toggle"}',
      'control {"action":"next"}',
      'volume {"delta":-5}',
    ]);
    expect(r.asked.every((a) => a.caller.role === 'owner' && a.caller.serial === 0 && a.caller.clientId === 'buttons')).to.equal(true);
    expect(told).to.have.length(5);
    buttons.stop();
    expect(source.started).to.equal(false);
  });

  it('a waiting join is approved before the window opens; a refusal is said, not thrown', async () => {
    const events = new BoxEvents();
    const approving = new Buttons({ sources: [], router: router({ approve: { status: 'ok', data: { approved: 'ann-1', name: 'Ann' } } }), events });
    expect(await approving.press({ button: 'share', gesture: 'click' })).to.equal("approved Ann's join");
    const refused = new Buttons({ sources: [], router: router({ control: { status: 'error', error: "'control' is disabled on this box" } }), events });
    expect(await refused.press({ button: 'playPause', gesture: 'click' })).to.equal("refused: 'control' is disabled on this box");
    const empty = new Buttons({ sources: [], router: router({}), events, noMusic: 'no music: /m has no audio files' });
    expect(await empty.press({ button: 'next', gesture: 'click' })).to.equal('nothing to skip (no music: /m has no audio files)');
  });

  it('a press from a source reaches the router', async () => {
    const r = router({ volume: { status: 'ok', data: { volume: 55 } } });
    const events = new BoxEvents();
    const source = new FakeButtons();
    new Buttons({ sources: [source], router: r, events }).start();
    const told = new Promise<string>((resolve) => events.once('button', (e) => resolve(e.effect)));
    source.emit('press', { button: 'volumeUp', gesture: 'click' });
    expect(await told).to.equal('volume 55');
  });

  it('sim/button payloads: a press, or a specific error', () => {
    expect(parseSimButton(Buffer.from('{"button":"next"}'))).to.deep.equal({ button: 'next', gesture: 'click' });
    expect(parseSimButton(Buffer.from('{"button":"share","gesture":"long"}'))).to.deep.equal({ button: 'share', gesture: 'long' });
    for (const bad of ['{nope', '{"button":"eject"}', '[]', '{"button":"quit"}']) {
      expect(parseSimButton(Buffer.from(bad)), bad)
        .to.be.a('string')
        .and.match(/^sim\/button: expected/);
    }
  });
});
