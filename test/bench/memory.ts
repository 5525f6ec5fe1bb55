// memory — where the box's private memory goes.
//
// What: the box process as deployed (esbuild bundle, its V8 flags and malloc setting) with N listeners
// in one codec: RSS split into file pages (the node executable and libraries,
// shared and reclaimable) and anonymous (private) memory; the private part split by
// mapping ([heap] = malloc's main arena, unnamed = V8's heap pages, other malloc
// arenas, thread stacks); and a V8 heap snapshot: live JavaScript bytes by kind
// (compiled code, strings — mostly module source text —, objects, ArrayBuffer
// backing stores) and the largest constructors.
//
// Method: the box reads a tone (no decoder process), its listeners join over MQTT
// and play through companion Players on virtual DACs (lib/swarm.ts); after
// `--warmup` seconds /proc/<pid>/status and /proc/<pid>/smaps are read, then the box
// writes a heap snapshot on SIGUSR2 (`--heapsnapshot-signal`), which is parsed here.
//
// Limits: the snapshot counts live objects only; V8 reserves and keeps more pages
// than it fills (the difference shows as "unnamed anonymous" minus live heap).
// Taking the snapshot costs the box a pause, after the figures above were read.
//
//   node --import tsx test/bench/memory.ts [--listeners 20] [--codec opus] [--warmup 30] [--quick]

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { BOX_ENV, BOX_NODE_FLAGS, buildBox, ROOT } from '../../firmware/build.ts';
import { sleep } from '../../firmware/util/time.ts';
import { parseArgs, table, writeResult } from './lib/report.ts';
import { LOOPBACK_BOX_ARGS, SERVING_BOX_ARGS } from '../helpers/box-process.ts';
import { groupOf, itemAt } from '../../firmware/util/checked-index.ts';

const args = parseArgs(process.argv.slice(2), { listeners: 20, codec: 'opus', warmup: 30, quick: false });
const listeners = args.quick ? 5 : (args.listeners as number);
const codec = String(args.codec);
const warmupS = args.quick ? 5 : (args.warmup as number);
if (!Number.isInteger(listeners) || listeners < 0 || listeners > 25) throw new Error(`--listeners: 0…25, got ${args.listeners}`);
if (codec !== 'opus' && codec !== 'pcm') throw new Error(`--codec: opus or pcm, got ${codec}`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-memory-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const MB = 2 ** 20;
function status(pid: number): { rss: number; anon: number; file: number; threads: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), threads: Number(/Threads:\s+(\d+)/.exec(s)?.[1]) };
}
/** anonymous resident MB per mapping kind, and file-backed resident MB per file */
function smaps(pid: number): { anon: Map<string, number>; files: Map<string, number> } {
  const anon = new Map<string, number>();
  const files = new Map<string, number>();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = groupOf(head, 1);
      continue;
    }
    const a = /^Anonymous:\s+(\d+)/.exec(line);
    if (a && Number(a[1]) > 0) {
      const k = name === '' ? 'unnamed (V8 heap pages, malloc arenas)' : name;
      anon.set(k, (anon.get(k) ?? 0) + Number(a[1]) / 1024);
    }
    const r = /^Rss:\s+(\d+)/.exec(line);
    if (r && name.startsWith('/')) files.set(path.basename(name), (files.get(path.basename(name)) ?? 0) + Number(r[1]) / 1024);
  }
  return { anon, files };
}

interface HeapSummary {
  totalMB: number;
  byKind: Record<string, number>;
  top: Array<[string, number]>;
}
function summarize(file: string): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields: string[] = snap.snapshot.meta.node_fields;
  const types: string[] = snap.snapshot.meta.node_types[0];
  const fieldIndex = (f: string) => {
    const k = fields.indexOf(f);
    if (k < 0) throw new Error(`the heap snapshot's nodes have no field '${f}'`);
    return k;
  };
  const [iType, iName, iSize] = [fieldIndex('type'), fieldIndex('name'), fieldIndex('self_size')];
  const byKind: Record<string, number> = {};
  const byName = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = itemAt(types, snap.nodes[i + iType], 'heap snapshot node types');
    const size = snap.nodes[i + iSize] / MB;
    total += size;
    const kind =
      type === 'native' && snap.strings[snap.nodes[i + iName]].includes('ArrayBuffer')
        ? 'ArrayBuffer backing stores'
        : type.includes('string')
          ? 'strings (module sources, names)'
          : type;
    byKind[kind] = (byKind[kind] ?? 0) + size;
    if (type === 'object') {
      const n = snap.strings[snap.nodes[i + iName]];
      byName.set(n, (byName.get(n) ?? 0) + size);
    }
  }
  return { totalMB: total, byKind, top: [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8) };
}

function waitLine(proc: ChildProcess, stream: 'stdout' | 'stderr', test: (l: string) => boolean, what: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`memory: ${what} within ${ms / 1000} s`)), ms);
    readline.createInterface({ input: proc[stream]! }).on('line', (l) => {
      if (test(l)) {
        clearTimeout(t);
        resolve(l);
      }
    });
  });
}

const bundle = await buildBox();
const box = spawn(
  process.execPath,
  [
    ...BOX_NODE_FLAGS,
    '--heapsnapshot-signal=SIGUSR2',
    `--diagnostic-dir=${dir}`,
    bundle,
    ...LOOPBACK_BOX_ARGS,
    ...SERVING_BOX_ARGS,
    '--source',
    'tone:440',
    '--codec',
    codec,
    '--state-dir',
    path.join(dir, 'state'),
  ],
  {
    cwd: ROOT,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEARCAST_'))),
      ...BOX_ENV,
      NEARCAST_MDNS__ENABLED: 'false',
      // every listener of the bench connects from 127.0.0.1; the per-address limit (16) is for strangers, not this measurement
      NEARCAST_LIMITS__CONNECTIONSPERADDRESS: '1000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
children.push(box);
const ready = JSON.parse(await waitLine(box, 'stderr', (l) => l.includes('"box ready"'), 'the box did not start', 30_000)) as { mqtt: number };
const idle = status(box.pid!);
if (listeners > 0) {
  const swarm = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/bench/lib/swarm.ts'), String(ready.mqtt), String(listeners), codec, 'M'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(swarm);
  await waitLine(swarm, 'stdout', (l) => l.includes('"ready"'), 'the listeners did not all play', 120_000);
}
await sleep(warmupS * 1000);
const loaded = status(box.pid!);
const maps = smaps(box.pid!);
box.kill('SIGUSR2');
let snapFile = '';
for (let i = 0, last = -1; i < 120; i++) {
  // the snapshot is complete when its size stops changing
  await sleep(500);
  const f = readdirSync(dir).find((n) => n.endsWith('.heapsnapshot'));
  if (!f) continue;
  const size = statSync(path.join(dir, f)).size;
  if (size > 0 && size === last) {
    snapFile = path.join(dir, f);
    break;
  }
  last = size;
}
if (!snapFile) throw new Error('memory: the box wrote no heap snapshot within 60 s');
const heap = summarize(snapFile);

console.log(`\nmemory: the box with ${listeners} ${codec} listeners after ${warmupS} s (MB)\n`);
console.log(
  table(
    ['figure', 'idle (no listener)', `${listeners} listeners`],
    [
      ['RSS', idle.rss, loaded.rss],
      ['file pages (node, libraries)', idle.file, loaded.file],
      ['private (RssAnon)', idle.anon, loaded.anon],
      ['threads', idle.threads, loaded.threads],
    ],
  ),
);
console.log('\nprivate memory by mapping:\n');
console.log(table(['mapping', 'MB'], [...maps.anon].sort((a, b) => b[1] - a[1]).slice(0, 6)));
console.log('\nfile pages by file:\n');
console.log(table(['file', 'MB'], [...maps.files].sort((a, b) => b[1] - a[1]).slice(0, 6)));
console.log(`\nV8 heap snapshot: ${heap.totalMB.toFixed(1)} MB live\n`);
console.log(
  table(
    ['kind', 'MB'],
    Object.entries(heap.byKind)
      .sort((a, b) => b[1] - a[1])
      .filter(([, v]) => v >= 0.05),
  ),
);
console.log('\nlargest object constructors:\n');
console.log(table(['constructor', 'MB'], heap.top));
const file = writeResult('memory', {
  method: 'box bundle with its V8 flags, tone source, N listeners joined over MQTT (companion Players on virtual DACs); /proc status and smaps; V8 heap snapshot on SIGUSR2',
  limits: 'live heap only in the snapshot; V8 keeps more pages than it fills',
  listeners,
  codec,
  warmupSeconds: warmupS,
  idle,
  loaded,
  anonByMapping: Object.fromEntries(maps.anon),
  fileByFile: Object.fromEntries(maps.files),
  heap,
});
console.log(`\nresults: ${file}`);
process.exit(0);
