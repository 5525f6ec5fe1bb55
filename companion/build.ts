// Builds the companion as one file people can copy: dist/nearcast.mjs, run by
// `node` 20+ from anywhere, no checkout or node_modules needed. Everything is
// bundled, including koffi's native module (for linux x64 and arm64), which the
// bundle writes once to ~/.cache/nearcast/ and loads from there, because Node
// loads native code only from a file. `make build` runs this; `make
// install-companion` installs the file as `nearcast`.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const COMPANION_BUNDLE = path.join(ROOT, 'dist', 'nearcast.mjs');
const KOFFI_TRIPLETS = ['linux_x64', 'linux_arm64'];

/** Replaces `koffi` with a module carrying its native binaries inline. */
function embeddedKoffi(): Plugin {
  return {
    name: 'embedded-koffi',
    setup(b) {
      b.onResolve({ filter: /^koffi$/ }, () => ({ path: 'koffi', namespace: 'embedded-koffi' }));
      b.onLoad({ filter: /.*/, namespace: 'embedded-koffi' }, () => {
        const koffiDir = path.join(ROOT, 'node_modules', 'koffi');
        const binaries: Record<string, { sha256: string; base64: string }> = {};
        for (const t of KOFFI_TRIPLETS) {
          const bytes = fs.readFileSync(path.join(koffiDir, 'build', 'koffi', t, 'koffi.node'));
          binaries[t] = { sha256: createHash('sha256').update(bytes).digest('hex'), base64: bytes.toString('base64') };
        }
        const contents = `
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
const binaries = ${JSON.stringify(binaries)};
const triplet = process.platform + '_' + process.arch;
const bin = binaries[triplet];
if (!bin) throw new Error('this nearcast bundle plays audio on ' + Object.keys(binaries).join(', ') + ' only, not ' + triplet + ' (use --device sim, or run from a checkout)');
const dir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'nearcast');
const file = path.join(dir, 'koffi-' + bin.sha256.slice(0, 16) + '.node');
const sha = (p) => { try { return createHash('sha256').update(fs.readFileSync(p)).digest('hex'); } catch { return ''; } };
if (sha(file) !== bin.sha256) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = file + '.' + process.pid + '.' + threadId;
  fs.writeFileSync(tmp, Buffer.from(bin.base64, 'base64'), { mode: 0o600 });
  fs.renameSync(tmp, file);
}
export default createRequire(import.meta.url)(file);
`;
        return { contents, loader: 'js', resolveDir: ROOT };
      });
    },
  };
}

/**
 * opus-native.ts loads opusscript's WebAssembly build with a runtime require(),
 * which reads its .wasm file from beside it; in the bundle both come inline.
 */
function inlineOpus(): Plugin {
  const call = "require('opusscript/build/opusscript_native_wasm.js')";
  return {
    name: 'inline-opus',
    setup(b) {
      b.onLoad({ filter: /firmware[\\/]audio[\\/]codecs[\\/]opus-native\.ts$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes(call)) throw new Error(`companion bundle: ${path.relative(ROOT, args.path)} no longer calls ${call}; update inlineOpus() in companion/build.ts`);
        const contents = [
          "import opusFactory from 'opusscript/build/opusscript_native_wasm.js';",
          "import opusWasm from 'opusscript/build/opusscript_native_wasm.wasm';",
          source.replace(call, '((moduleArg = {}) => opusFactory({ wasmBinary: opusWasm, ...moduleArg }))'),
        ].join('\n');
        return { contents, loader: 'ts', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

export async function buildCompanion(): Promise<string> {
  await build({
    entryPoints: [path.join(ROOT, 'companion/cli/one-file-entry.ts')],
    outfile: COMPANION_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    define: { NEARCAST_ONE_FILE: 'true' },
    plugins: [embeddedKoffi(), inlineOpus()],
    loader: { '.wasm': 'binary' },
    // CommonJS packages inside an ES module bundle use require, __filename and __dirname: give them these
    banner: {
      js: [
        '#!/usr/bin/env node',
        "import { createRequire as ncCreateRequire } from 'node:module'; import { fileURLToPath as ncFileURLToPath } from 'node:url';",
        'const require = ncCreateRequire(import.meta.url); const __filename = ncFileURLToPath(import.meta.url); const __dirname = __filename.replace(/[\\/][^\\/]*$/, "");',
      ].join('\n'),
    },
  });
  fs.chmodSync(COMPANION_BUNDLE, 0o755);
  return COMPANION_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildCompanion();
  process.stdout.write(`built ${path.relative(ROOT, out)} (${(fs.statSync(out).size / 1e6).toFixed(1)} MB)\n`);
}
