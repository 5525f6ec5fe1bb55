// install-size: how much disk the installed box takes on a Raspberry Pi (64-bit).
//
// Method: `make install` into a temporary DESTDIR, its production dependencies from
// `npm ci --omit=dev --cpu=arm64 --os=linux` (the packages, and the prebuilt
// binaries inside them, a Pi gets; what `make check-arm64` resolves); then `du` of
// the installed tree (/opt/nearcast) and of its parts: disk use in 1 KiB blocks
// (what the SD card loses, at this file system's block size) and apparent bytes.
// Also lists the largest packages and any package in node_modules that only
// development needs (the lockfile's "dev" mark; must be none). `--node-modules link` installs this checkout's production packages
// offline instead (this machine's binaries: for the smoke test, not for figures).
//
// Limits: the file system here is not the Pi's (block size, compression); optional
// packages that compile at install (onoff's epoll) are compiled for this machine
// (their size is close, their binary is not the Pi's); /etc/nearcast and the unit
// (a few KB) are not counted; the music library and /var/lib/nearcast are not included.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { developmentOnlyPackages } from '../helpers/installed-packages.ts';
import { parseArgs, table, writeResult } from './lib/report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = parseArgs(process.argv.slice(2), { nodeModules: 'npm', cpu: 'arm64', os: 'linux', top: 12 });
if (args.nodeModules !== 'npm' && args.nodeModules !== 'link') throw new Error(`--node-modules must be npm or link, got '${String(args.nodeModules)}'`);

interface Size {
  kib: number;
  bytes: number;
}
function size(target: string): Size {
  const du = (flag: string) => Number(execFileSync('du', ['-s', flag, target], { encoding: 'utf8' }).split('\t')[0]);
  return { kib: du('-k'), bytes: du('-b') };
}
const mb = (kib: number) => Math.round((kib / 1024) * 10) / 10;

const destdir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-install-size-'));
try {
  const flags = args.nodeModules === 'npm' ? [`NPM_INSTALL_FLAGS=--cpu=${String(args.cpu)} --os=${String(args.os)}`] : ['NODE_MODULES=link'];
  execFileSync('make', ['-s', 'install', `DESTDIR=${destdir}`, ...flags], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
  const app = path.join(destdir, 'opt/nearcast');
  const modules = path.join(app, 'node_modules');

  const parts = ['node_modules', 'dist', 'firmware', 'companion', 'hardware', 'config'].map((part) => ({ part, ...size(path.join(app, part)) }));
  const total = size(app);
  const other = {
    part: 'other files (README, package*.json)',
    kib: total.kib - parts.reduce((sum, p) => sum + p.kib, 0),
    bytes: total.bytes - parts.reduce((sum, p) => sum + p.bytes, 0),
  };

  // packages at the top of node_modules (a scope's packages one by one), with what they hold nested
  const packages: Array<{ name: string } & Size> = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@') ? readdirSync(path.join(modules, entry)).map((inner) => `${entry}/${inner}`) : [entry];
    for (const name of names) packages.push({ name, ...size(path.join(modules, name)) });
  }
  packages.sort((a, b) => b.kib - a.kib);

  const devFound = developmentOnlyPackages(app, path.join(ROOT, 'package-lock.json'));

  console.log(
    `installed box (make install, node_modules: ${args.nodeModules === 'npm' ? `npm ci --omit=dev --cpu=${String(args.cpu)} --os=${String(args.os)}` : 'linked from this checkout'})\n`,
  );
  console.log(
    table(
      ['part of /opt/nearcast', 'disk MB', 'apparent MB'],
      [...parts, other, { part: 'total', ...total }].map((p) => [p.part, mb(p.kib), mb(p.bytes / 1024)]),
    ),
  );
  console.log(`\n${packages.length} packages; the largest:\n`);
  console.log(
    table(
      ['package', 'disk MB', 'share of node_modules'],
      packages.slice(0, Number(args.top)).map((p) => [p.name, mb(p.kib), `${Math.round((100 * p.kib) / (parts[0]?.kib ?? 1))} %`]),
    ),
  );
  console.log(`\npackages only development needs (lockfile "dev") in node_modules: ${devFound.length ? devFound.join(', ') : 'none'}`);

  const file = writeResult('install-size', {
    method:
      args.nodeModules === 'npm'
        ? `make install DESTDIR=<tmp> NPM_INSTALL_FLAGS='--cpu=${String(args.cpu)} --os=${String(args.os)}'`
        : 'make install DESTDIR=<tmp> NODE_MODULES=link',
    units: 'kib: du -sk (disk use); bytes: du -sb (apparent size)',
    total,
    parts: [...parts, other],
    packageCount: packages.length,
    largestPackages: packages.slice(0, Number(args.top)),
    developmentOnlyPackages: devFound,
  });
  console.log(`\nJSON: ${path.relative(ROOT, file)}`);
  if (devFound.length) process.exitCode = 1;
} finally {
  rmSync(destdir, { recursive: true, force: true });
}
