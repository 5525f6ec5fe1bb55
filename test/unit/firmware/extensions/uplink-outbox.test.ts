import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UplinkOutbox } from '../../../../firmware/extensions/uplink-outbox.ts';

describe('UplinkOutbox (events waiting for the uplink broker)', () => {
  let dir: string;
  const problems: string[] = [];
  const outbox = (max = 5) => new UplinkOutbox({ stateDir: dir, max, onProblem: (m) => problems.push(m), now: () => Date.UTC(2026, 11, 1, 22) });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-outbox-'));
    problems.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each event an id and its time, keeps it on disk until acknowledged, in order', async () => {
    const queue = outbox();
    const first = queue.add('share', { open: true, remainingMs: 120000 });
    const second = queue.add('track', { track: null });
    expect(first.payload).to.deep.equal({ open: true, remainingMs: 120000, id: first.id, at: '2026-12-01T22:00:00.000Z' });
    expect(first.id).to.not.equal(second.id);
    await queue.settled();
    const file = JSON.parse(readFileSync(path.join(dir, 'uplink-outbox.json'), 'utf8'));
    expect(file.events.map((e: { id: string }) => e.id)).to.deep.equal([first.id, second.id]);
    expect(readdirSync(dir), 'no temp file left').to.deep.equal(['uplink-outbox.json']);
    queue.acknowledged(first.id);
    queue.acknowledged('not-an-id');
    await queue.settled();
    expect(
      outbox()
        .oldest(10)
        .map((e) => e.id),
      'what a restarted box still has to send',
    ).to.deep.equal([second.id]);
  });

  it('ids stay unique across restarts', () => {
    const ids = new Set<string>();
    for (let boot = 0; boot < 20; boot++) ids.add(outbox().add('share', {}).id);
    expect(ids.size).to.equal(20);
  });

  it('is bounded: beyond max the oldest is dropped and counted', async () => {
    const queue = outbox(3);
    const ids = Array.from({ length: 5 }, (_, i) => queue.add('join', { id: `nc-${i}`, name: 'x' }).id);
    expect(queue.oldest(10).map((e) => e.id)).to.deep.equal(ids.slice(2));
    expect(queue.droppedCount).to.equal(2);
    await queue.settled();
    const reloaded = outbox(2);
    expect(
      reloaded.oldest(10).map((e) => e.id),
      'a smaller bound at restart keeps the newest',
    ).to.deep.equal(ids.slice(3));
    expect(reloaded.droppedCount).to.equal(3);
  });

  it('with max 0 keeps nothing', async () => {
    const queue = outbox(0);
    expect(queue.add('share', {}).id).to.be.a('string');
    expect(queue.size).to.equal(0);
    await queue.settled();
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a corrupt file is set aside and reported; the box starts with an empty queue', () => {
    writeFileSync(path.join(dir, 'uplink-outbox.json'), '{"events":[{"id":1}],"dropped":0}');
    expect(outbox().size).to.equal(0);
    expect(problems[0]).to.match(/unreadable/);
    expect(readdirSync(dir).some((f) => f.startsWith('uplink-outbox.json.bad-'))).to.equal(true);
  });
});
