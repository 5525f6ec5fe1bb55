// Shared bench output: percentiles, an aligned table on stdout, JSON in results/.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// NEARCAST_BENCH_RESULTS redirects the JSON (the smoke test must not overwrite real results)
export const RESULTS_DIR = process.env.NEARCAST_BENCH_RESULTS || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!; // 0 <= i < sorted.length, which is not 0
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const ragged = cells.find((r) => r.length !== headers.length);
  if (ragged) throw new Error(`table: a row has ${ragged.length} cells for ${headers.length} columns`);
  // every row has one cell per column (checked above), so i indexes each row and w
  const w = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  return [line(headers), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...cells.map(line)].join('\n');
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3);
}

export function machine(): Record<string, unknown> {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

/** Writes results/<name>.json and returns its path. */
export function writeResult(name: string, data: object): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify({ bench: name, at: new Date().toISOString(), machine: machine(), ...data }, null, 2) + '\n');
  return file;
}

/** `--duration <s>`, `--quick`, `--out <name>` and friends, with a clear error on bad input. */
export function parseArgs(argv: string[], defaults: Record<string, number | boolean | string>): Record<string, number | boolean | string> {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!; // i < argv.length
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in defaults))
      throw new Error(
        `unknown option ${a} (known: ${Object.keys(defaults)
          .map((k) => '--' + k)
          .join(', ')})`,
      );
    if (typeof defaults[key] === 'boolean') {
      out[key] = true;
      continue;
    }
    if (typeof defaults[key] === 'string') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`${a} needs a value`);
      out[key] = value;
      i++;
      continue;
    }
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a number ≥ 0, got '${argv[i]}'`);
    out[key] = v;
  }
  return out;
}
