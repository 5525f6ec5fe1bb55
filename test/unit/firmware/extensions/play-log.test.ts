import { expect } from 'chai';
import { BoxEvents } from '../../../../firmware/domain/box-events.ts';
import { exportPlayLog, parseDay, toCsv } from '../../../../firmware/extensions/play-log-export.ts';
import { PlayLog, type PlayedItem } from '../../../../firmware/extensions/play-log.ts';
import type { Track } from '../../../../firmware/library/track.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DailyLog } from '../../../../firmware/util/daily-log.ts';

const moon: Track = {
  id: 't1',
  path: '/music/moon.flac',
  title: 'Moon River',
  artist: 'Demo Quartet',
  album: 'Demo',
  durationMs: 30_000,
  fileName: 'moon.flac',
  hasArtwork: false,
  isrc: 'USRC17607839',
};
const cafe: Track = { id: 't2', path: '/music/cafe.mp3', title: 'Café Olé', artist: '', album: '', durationMs: 20_000, fileName: 'cafe.mp3', hasArtwork: false };
const summary = (t: Track) => ({ id: t.id, title: t.title, artist: t.artist, album: t.album, durationMs: t.durationMs });

function setup() {
  const events = new BoxEvents();
  const written: Array<{ record: PlayedItem; at: Date }> = [];
  const told: PlayedItem[] = [];
  const state = { now: Date.UTC(2026, 11, 1, 9, 0, 0), playing: true, listeners: 3 };
  events.on('played', (p) => told.push(p as PlayedItem));
  const log = new PlayLog({
    events,
    log: { append: (record, at) => written.push({ record: record as PlayedItem, at }), close: () => {} },
    track: (id) => [moon, cafe].find((t) => t.id === id),
    playing: () => state.playing,
    listenerCount: () => state.listeners,
    now: () => state.now,
  });
  log.start();
  return { events, written, told, state, log };
}

describe('PlayLog (every item that played, one line each)', () => {
  it('an item runs from when it is heard to when the next is; pauses do not count; the line has what a royalty report needs', () => {
    const { events, written, told, state } = setup();
    events.emit('track', { track: summary(moon), kind: 'song', playlist: null });
    state.now += 10_000;
    state.playing = false;
    events.emit('changed');
    state.now += 60_000; // paused for a minute
    state.playing = true;
    events.emit('changed');
    state.now += 5_000;
    state.listeners = 7;
    events.emit('track', { track: summary(cafe), kind: 'jingle', playlist: 'morning' });
    expect(written, JSON.stringify(written)).to.have.length(1);
    const line = written[0]!.record;
    expect(line).to.deep.include({
      playedMs: 15_000,
      kind: 'song',
      title: 'Moon River',
      artist: 'Demo Quartet',
      album: 'Demo',
      isrc: 'USRC17607839',
      file: '/music/moon.flac',
      playlist: null,
      listenersAtStart: 3,
    });
    expect(Date.parse(line.end) - Date.parse(line.start), `${line.start} → ${line.end}`).to.equal(75_000);
    expect(line.start).to.match(/[+-]\d{2}:\d{2}$/);
    expect(told).to.deep.equal([line]);
  });

  it('an item runs from the instant it was scheduled to be heard, not from when a late event arrived', () => {
    const { events, written, state } = setup();
    const t0 = state.now;
    events.emit('track', { track: summary(moon), kind: 'song', playlist: null, at: t0 - 400 }); // the event loop was 400 ms late
    state.now += 3_000;
    events.emit('track', { track: summary(cafe), kind: 'jingle', playlist: null, at: t0 + 2_600 }); // and 400 ms late again
    state.now += 1_000;
    events.emit('track', { track: summary(moon), kind: 'song', playlist: null, at: t0 + 9_000 }); // an instant not yet reached is taken as now
    const lines = written.map((w) => w.record);
    expect(lines.map((l) => [l.title, l.playedMs, Date.parse(l.start) - t0, Date.parse(l.end) - t0])).to.deep.equal([
      ['Moon River', 3_000, -400, 2_600],
      ['Café Olé', 1_400, 2_600, 4_000],
    ]);
  });

  it('stopping ends the item playing; an item never heard (skipped while paused) is not logged', () => {
    const { events, written, state, log } = setup();
    state.playing = false;
    events.emit('track', { track: summary(moon), kind: 'song', playlist: null });
    state.now += 3_000;
    events.emit('track', { track: summary(cafe), kind: 'jingle', playlist: 'morning' }); // moon never played: paused throughout
    state.playing = true;
    events.emit('changed');
    state.now += 4_000;
    events.emit('track', { track: null, kind: 'song', playlist: null }); // the box stopped
    state.now += 9_000;
    log.stop();
    expect(written.map((w) => [w.record.title, w.record.playedMs, w.record.listenersAtStart, w.record.kind, w.record.playlist])).to.deep.equal([
      ['Café Olé', 4_000, 3, 'jingle', 'morning'],
    ]);
    expect(written[0]!.record.isrc).to.equal(null);
  });
});

describe('nearcast-box playlog export', () => {
  const item = (title: string, extra: Partial<PlayedItem> = {}): PlayedItem => ({
    id: 'x',
    start: '2026-12-01T09:00:00.000+01:00',
    end: '2026-12-01T09:03:00.000+01:00',
    playedMs: 180_000,
    kind: 'song',
    title,
    artist: 'A',
    album: '',
    isrc: null,
    file: '/m/a.mp3',
    playlist: 'morning',
    listenersAtStart: 2,
    ...extra,
  });

  it('CSV: a header, one row per item, RFC 4180 quoting, and no cell a spreadsheet would run as a formula', () => {
    const csv = toCsv([item('Plain'), item('Comma, "quoted"\nline'), item('=HYPERLINK("http://x")'), item('-5 dB', { isrc: 'USRC17607839' })]);
    const rows = csv.split('\r\n');
    expect(rows[0]).to.equal('start,end,played_ms,kind,title,artist,album,isrc,file,playlist,listeners_at_start');
    expect(rows[1]).to.equal('2026-12-01T09:00:00.000+01:00,2026-12-01T09:03:00.000+01:00,180000,song,Plain,A,,,/m/a.mp3,morning,2');
    expect(csv).to.contain('"Comma, ""quoted""\nline"');
    expect(csv).to.contain(`"'=HYPERLINK(""http://x"")"`);
    expect(csv).to.contain(",'-5 dB,");
    expect(csv.endsWith('\r\n')).to.equal(true);
  });

  it('reads the days asked for, as CSV or JSON lines; bad days are refused with the reason', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nearcast-playlog-'));
    try {
      const log = new DailyLog({ dir, keepDays: 10 });
      log.append(item('one'), new Date(2026, 10, 30, 12));
      log.append(item('two'), new Date(2026, 11, 1, 12));
      log.close();
      expect(
        exportPlayLog(dir, '2026-12-01', '2026-12-01', 'jsonl')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as PlayedItem).title),
      ).to.deep.equal(['two']);
      expect(exportPlayLog(dir, '2026-11-30', '2026-12-01', 'csv').split('\r\n').filter(Boolean)).to.have.length(3);
      expect(() => exportPlayLog(dir, '2026-12-02', '2026-12-01', 'csv')).to.throw(/after --to/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(parseDay('2026-02-28')).to.equal('2026-02-28');
    for (const bad of ['2026-02-30', '26-1-1', 'yesterday', '2026-13-01']) expect(() => parseDay(bad), bad).to.throw(/not a day/);
  });
});
