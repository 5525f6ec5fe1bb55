import { expect } from 'chai';
import { formatStatus } from '../../../../companion/cli/status-line.ts';

describe('status line', () => {
  const base = { state: 'playing', positionMs: 90_000, bufferMs: 380, syncErrorMs: 0.04, underruns: 0, resyncs: 0, droppedFrames: 0, insertedFrames: 0 };
  it('shows track, progress bar, buffer and sync error', () => {
    const line = formatStatus({ ...base, track: { title: 'Moon River', artist: 'Demo Quartet', durationMs: 180_000 } }, 100);
    expect(line).to.equal('Moon River — Demo Quartet | [########--------] 1:30/3:00 buf 380 ms sync +0.04 ms');
  });
  it('fits long titles into the terminal width and says when sync is not known yet', () => {
    const line = formatStatus({ ...base, syncErrorMs: null, underruns: 2, track: { title: '月の光'.repeat(40), artist: '', durationMs: 0 } }, 60);
    expect(line.length).to.be.at.most(60);
    expect(line).to.contain('…');
    expect(line).to.contain('sync …');
    expect(line).to.contain('underruns 2');
  });
  it('says when the box is away and being joined again', () => {
    const line = formatStatus({ ...base, connection: 'rejoining', track: { title: 'Moon River', artist: '', durationMs: 180_000 } }, 100);
    expect(line.startsWith('rejoining the box… Moon River |'), line).to.equal(true);
  });
});
