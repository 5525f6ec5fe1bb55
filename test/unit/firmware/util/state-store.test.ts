import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StateStore } from '../../../../firmware/util/state-store.ts';

const validate = (v: unknown) => (v && typeof v === 'object' && typeof (v as { volume?: unknown }).volume === 'number' ? (v as { volume: number }) : null);

describe('StateStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves atomically (no temp file left) and loads back', () => {
    const s = new StateStore(dir, 'playback', validate);
    s.save({ volume: 42 });
    s.flush();
    expect(readdirSync(dir)).to.deep.equal(['playback.json']);
    expect(new StateStore(dir, 'playback', validate).load({ volume: 1 })).to.deep.equal({ volume: 42 });
  });

  it('sets a corrupt file aside, says so, and starts from defaults', () => {
    writeFileSync(path.join(dir, 'playback.json'), '{"volume": 4');
    const problems: string[] = [];
    const s = new StateStore(dir, 'playback', validate, (m) => problems.push(m));
    expect(s.load({ volume: 60 })).to.deep.equal({ volume: 60 });
    expect(problems[0]).to.contain('unreadable');
    const aside = readdirSync(dir).find((f) => f.startsWith('playback.json.bad-'))!;
    expect(readFileSync(path.join(dir, aside), 'utf8')).to.equal('{"volume": 4');
  });

  it('a saved change is on disk when settled() resolves (the router waits for it before saying ok); bursts coalesce', async () => {
    const s = new StateStore(dir, 'playback', validate);
    for (let v = 0; v <= 30; v++) s.save({ volume: v });
    await s.settled();
    expect(JSON.parse(readFileSync(path.join(dir, 'playback.json'), 'utf8'))).to.deep.equal({ volume: 30 });
    expect(readdirSync(dir)).to.deep.equal(['playback.json']);
    await s.settled(); // nothing pending: resolves at once
  });

  it('refuses to store a value its validator rejects, so a bad value never poisons the file', async () => {
    const problems: string[] = [];
    const s = new StateStore(dir, 'playback', validate, (m) => problems.push(m));
    expect(s.save({ volume: 7 })).to.equal(true);
    await s.settled();
    expect(s.save({ volume: 'x' } as unknown as { volume: number })).to.equal(false);
    await s.settled();
    expect(problems[0]).to.match(/refused to save an invalid state/);
    expect(new StateStore(dir, 'playback', validate).load({ volume: 1 })).to.deep.equal({ volume: 7 });
  });
});
