// The live status line of `nearcast join` (or JSON lines with --json).

export interface ListenStatus {
  state: string;
  /** 'rejoining' while the box is away (restarting, out of reach) and `nearcast join` tries to join it again */
  connection?: 'joined' | 'rejoining';
  /** times the box was joined again after it went away */
  rejoins?: number;
  track: { title: string; artist: string; durationMs: number } | null;
  positionMs: number;
  bufferMs: number;
  syncErrorMs: number | null;
  underruns: number;
  resyncs: number;
  /** of the resyncs, those after this player starved its device: its next audio came after the queue ran out (companion/player/scheduler.ts) */
  starvedResyncs?: number;
  /** of the dropped and inserted frames, those of the starved resyncs: the machine's, not the stream's */
  starvedFrames?: number;
  droppedFrames: number;
  insertedFrames: number;
  /** the device model (see firmware/util/device-clock.ts): last raw delay, reading noise, steps, rate vs the local clock */
  deviceDelayMs?: number;
  deviceNoiseMs?: number;
  deviceSteps?: number;
  /** times the device was started afresh before playing: its sound server's report started off (companion/player/report-check.ts) */
  deviceRestarts?: number;
  devicePpm?: number;
  /** the clock estimate (firmware/wire/clock.ts): box clock − local clock, and its drift */
  clockOffsetMs?: number;
  clockDriftPpm?: number;
  concealedChunks?: number;
  discardedChunks?: number;
  decodeErrors?: number;
  restarts?: number;
}

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function formatStatus(s: ListenStatus, width = 80): string {
  const song = s.track ? `${s.track.title}${s.track.artist ? ' — ' + s.track.artist : ''}` : s.state;
  const title = s.connection === 'rejoining' ? `rejoining the box… ${song}` : song;
  const dur = s.track?.durationMs ?? 0;
  const bar = 16;
  const filled = dur > 0 ? Math.min(bar, Math.round((s.positionMs / dur) * bar)) : 0;
  const progress = dur > 0 ? `[${'#'.repeat(filled)}${'-'.repeat(bar - filled)}] ${clock(s.positionMs)}/${clock(dur)}` : '';
  const sync = s.syncErrorMs === null ? 'sync …' : `sync ${s.syncErrorMs >= 0 ? '+' : ''}${s.syncErrorMs.toFixed(2)} ms`;
  const fixes = s.droppedFrames || s.insertedFrames ? ` fixed −${s.droppedFrames}/+${s.insertedFrames}` : '';
  const tail = `${progress} buf ${Math.round(s.bufferMs)} ms ${sync}${fixes}${s.resyncs ? ` resyncs ${s.resyncs}` : ''}${s.underruns ? ` underruns ${s.underruns}` : ''}`;
  const room = Math.max(8, width - tail.length - 3);
  const name = title.length > room ? title.slice(0, room - 1) + '…' : title;
  return `${name} | ${tail}`;
}
