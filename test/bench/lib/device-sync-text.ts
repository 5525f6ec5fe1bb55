// The device-sync bench's stated method and limits (printed and stored with every
// result) and its verdict against issue 11's targets.

import type { OffsetReport } from './device-offsets.ts';

export const METHOD = [
  "one private PulseAudio server at 48 kHz; one null sink with a channel per player; each player plays into a mono remap sink on its own channel (nearcast's through libpulse, the device `pulse`, or ALSA's plugin with --device alsa:pulse; snapclients through ALSA's `pulse` PCM);",
  "parec records the null sink's monitor (s16le, 48 kHz, all channels sample-aligned).",
  'nearcast: a real box process (pipe source, `--audio-device` as --device: its own speaker is a player) and `nearcast join --device` companions joined over MQTT;',
  'snapcast: snapserver 0.26 (pipe source, 20 ms chunks, 400 ms buffer, flac) and snapclients `--player alsa -s pulse`. Both servers read the same generated noise-and-glide',
  'material, decoded by ffmpeg in real time into a named pipe. The last listener of each system reaches its server through a delaying proxy (random 0…--jitter ms per',
  'chunk, both directions, TCP order kept). Part of the run (from --hog-from) a busy loop pinned with taskset to the last core competes for the CPU.',
  'Offsets: every pair of channels of one system is cross-correlated in consecutive windows (≤ 0.5 s; lags ±--max-lag-ms; FFT; normalized; parabolic sub-sample peak);',
  'windows quieter than −60 dBFS in either channel are rejected as silent, windows whose peak correlation is below 0.5 as a collapse (both counted).',
  "Statistics start 2 s after the later first audible sample of a system's players. Dropouts: runs of exact zeros ≥ 2 ms in a channel inside the analysed region.",
  "Player counters (resyncs, dropped/inserted frames, underruns) from each companion's `--json` status lines and the box speaker's from the box's telemetry (every second), differenced over the measured run; where each dropout began is listed; snapclient reports none,",
  'so its column counts log lines about late or missing chunks.',
].join(' ');

export const LIMITS = [
  'one machine: every player, both servers and the recorder share its cores (and whatever else runs on it), and all clocks are the same CLOCK_MONOTONIC, so no',
  'crystal drift between players (the null sink too runs on the system clock); the null sink is a timer-driven device, not a DAC: it renders in blocks whose size',
  "follows the smallest latency asked of it (parec asks 5 ms), and PulseAudio's latency reports move in steps as with any sound server. Offsets between channels",
  "come from the recording alone and are sample-exact plus interpolation (≈ 0.01 ms on this material). The comparison with the box clock's schedule and the placing",
  "of phases use a clock map of the recording built from parec's arrival times (a lower envelope over 0.5 s, plus the null sink's render block): good to about",
  '±0.5 ms on a busy machine, worse for 0.5 s before a null-sink rewind (the recording then gains up to a block of re-rendered frames).',
  'The box speaker is a nearcast player like the companions, so companion–speaker offsets compare two nearcast schedulers, not against ground truth.',
  'Codecs differ as deployed: nearcast Opus (or --codec pcm), snapserver flac.',
].join(' ');

export interface TargetRow {
  what: string;
  value: string;
  reference: string;
  target: string;
  met: boolean | null;
}

interface PlayerFigures {
  system: string;
  player: string;
  dropouts: number;
  resyncs: number | null;
  dropped: number | null;
  inserted: number | null;
}

/** issue 11 point 4, for nearcast, with snapclient in the same run as the reference */
export function deviceSyncTargets(reports: Record<string, OffsetReport>, players: PlayerFigures[], durationS: number, notAudible: string[]): TargetRow[] {
  const worst = (sys: string, k: 'p50' | 'p95' | 'max') => {
    const xs =
      reports[sys]?.pairs.flatMap((p) =>
        Object.values(p.byPhase)
          .filter((s) => s.n > 0)
          .map((s) => s[k]),
      ) ?? [];
    return xs.length ? Math.max(...xs) : NaN;
  };
  const collapses = (sys: string) => reports[sys]?.pairs.reduce((a, p) => a + p.all.lowCorrelation, 0) ?? NaN;
  const measuredPairs = (sys: string) => reports[sys]?.pairs.filter((p) => p.all.n > 0).length ?? 0;
  const rows: TargetRow[] = [];
  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(3)} ms` : '—');
  for (const [k, bound] of [
    ['p50', 0.2],
    ['p95', 0.5],
    ['max', 2],
  ] as const) {
    const [n, s] = [worst('nearcast', k), worst('snapclient', k)];
    rows.push({ what: `|offset| ${k}, worst pair and condition`, value: ms(n), reference: ms(s), target: `≤ ${bound} ms`, met: Number.isFinite(n) ? n <= bound : null });
    rows.push({
      what: `|offset| ${k}, worst pair: at or better than snapclient`,
      value: ms(n),
      reference: ms(s),
      target: '≤ snapclient',
      met: Number.isFinite(n) && Number.isFinite(s) ? n <= s : null,
    });
  }
  const nc = players.filter((p) => p.system === 'nearcast');
  // both count as dropouts (the target is none of either); apart, because they are different
  // faults: silence reached the sink, or a window's sound was smeared (single-frame corrections,
  // a rewind of the sink, a step being worked off: README "Sync where the listener hears it")
  const silences = nc.reduce((a, p) => a + p.dropouts, 0);
  rows.push({
    what: 'dropouts: runs of digital silence',
    value: String(silences),
    reference: String(players.filter((p) => p.system !== 'nearcast').reduce((a, p) => a + p.dropouts, 0)),
    target: '0',
    met: reports.nearcast ? silences === 0 : null,
  });
  rows.push({
    what: 'dropouts: windows whose correlation collapsed',
    value: String(collapses('nearcast')),
    reference: String(collapses('snapclient')),
    target: '0',
    met: reports.nearcast ? collapses('nearcast') === 0 : null,
  });
  // players that report counters: the companions (their --json status) and the box speaker (its telemetry)
  const companions = nc.filter((p) => p.resyncs !== null);
  const resyncs = companions.reduce((a, p) => a + p.resyncs!, 0);
  rows.push({ what: 'resyncs (companions, box speaker)', value: String(resyncs), reference: '—', target: '0', met: companions.length ? resyncs === 0 : null });
  const worstShare = Math.max(...companions.map((p) => ((p.dropped ?? 0) + (p.inserted ?? 0)) / (durationS * 48000)));
  rows.push({
    what: 'dropped + inserted frames, worst player',
    value: companions.length ? `${(worstShare * 100).toFixed(3)} %` : '—',
    reference: '—',
    target: '≤ 0.1 % of frames played',
    met: companions.length ? worstShare <= 0.001 : null,
  });
  const expectPairs = (sys: string) => {
    const n = players.filter((p) => p.system === sys).length;
    return (n * (n - 1)) / 2;
  };
  for (const sys of Object.keys(reports)) {
    rows.push({
      what: `${sys}: every pair measured, every player audible`,
      value: `${measuredPairs(sys)}/${expectPairs(sys)} pairs`,
      reference: notAudible.length ? `not audible: ${notAudible.join(', ')}` : '—',
      target: 'all',
      met: measuredPairs(sys) === expectPairs(sys) && !notAudible.some((p) => players.some((x) => x.system === sys && x.player === p)),
    });
  }
  return rows;
}
