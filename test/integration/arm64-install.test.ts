// The dependencies install for a Raspberry Pi (arm64) from this machine: npm ci with
// --cpu=arm64 --os=linux succeeds and brings the arm64 binaries koffi and esbuild
// ship inside npm (nothing fetched by install scripts).

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { ROOT } from '../helpers/box-process.ts';

describe('arm64 dependencies (make check-arm64)', function () {
  this.timeout(300_000);

  it('npm ci --cpu=arm64 --os=linux succeeds with esbuild linux-arm64 and koffi linux_arm64', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('make', ['-s', 'check-arm64'], { cwd: ROOT, timeout: 280_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    );
    expect(out).to.include('arm64: dependencies install (esbuild linux-arm64, koffi linux_arm64 prebuilt)');
  });
});
