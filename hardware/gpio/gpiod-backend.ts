// GPIO through libgpiod's command-line tools (Debian `gpiod`): the character device
// interface that replaces sysfs GPIO on current kernels. `gpiomon` reports button
// edges, `gpioset` holds each LED's level. Both v1 (Bookworm) and v2 (Trixie) syntax.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { GpioBackend } from './gpio-backend.ts';

export type GpiodVersion = 1 | 2;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

/** `gpiomon (libgpiod) v1.6.3` → 1 */
export function parseGpiodVersion(text: string): GpiodVersion {
  const m = /\bv(\d+)\.\d+/.exec(text);
  if (!m) throw new Error(`gpiod: cannot tell the libgpiod version from '${text.trim().slice(0, 80)}'`);
  const major = Number(m[1]);
  if (major !== 1 && major !== 2) throw new Error(`gpiod: libgpiod v${major} is not supported (v1 or v2)`);
  return major;
}

/** `gpiodetect` lines such as `gpiochip0 [pinctrl-bcm2711] (58 lines)` → the chip with that label */
export function chipByLabel(gpiodetect: string, label: string): string | null {
  for (const line of gpiodetect.split('\n')) {
    const m = /^(gpiochip\d+)\s+\[([^\]]*)\]/.exec(line.trim());
    if (m && m[2] === label) return m[1]!; // a mandatory group
  }
  return null;
}

export class GpiodBackend implements GpioBackend {
  readonly kind = 'gpiod' as const;
  private monitor: ChildProcess | null = null;
  private leds = new Map<number, { on: boolean; proc: ChildProcess | null }>();
  private closed = false;

  private constructor(readonly version: GpiodVersion, readonly chip: string, private readonly onError: (msg: string) => void) {}

  /** Finds the tools' version and the chip (by label, else the board's chardev name). */
  static async open(board: { label: string; chardev: string }, onError: (msg: string) => void): Promise<GpiodBackend> {
    const version = parseGpiodVersion(await run('gpiomon', ['--version']));
    const chip = chipByLabel(await run('gpiodetect', []).catch(() => ''), board.label) ?? board.chardev;
    return new GpiodBackend(version, chip, onError);
  }

  watch(lines: number[], onEdge: (line: number, pressed: boolean) => void): Promise<void> {
    const offsets = lines.map(String);
    // active-low with the pull-up: a press is a rising edge of the logical value
    const args = this.version === 1
      ? ['--active-low', '--bias=pull-up', '--line-buffered', '--format=%o %e', this.chip, ...offsets]
      : ['--chip', this.chip, '--active-low', '--bias=pull-up', '--edges=both', '--format=%o %e', ...offsets];
    const rising = '1';
    const proc = spawn('gpiomon', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.monitor = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-500); });
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      const [o, e] = l.trim().split(/\s+/);
      const line = Number(o);
      if (!lines.includes(line) || (e !== '0' && e !== '1' && e !== '2')) return this.onError(`gpiomon: unexpected output '${l.slice(0, 80)}'`);
      onEdge(line, e === rising);
    });
    return new Promise((resolve, reject) => {
      proc.once('error', (e) => reject(new Error(`gpiomon: ${e.message}`)));
      proc.once('spawn', () => resolve());
      proc.once('exit', (code, sig) => {
        if (!this.closed) this.onError(`gpiomon exited (${code ?? sig}): ${stderr.trim() || 'no message'}`);
      });
    });
  }

  setLed(line: number, on: boolean): void {
    const cur = this.leds.get(line);
    if (cur && cur.on === on) return;
    cur?.proc?.kill('SIGTERM');
    // gpioset holds the line while it runs (v1 needs --mode=signal for that)
    const args = this.version === 1 ? ['--mode=signal', this.chip, `${line}=${on ? 1 : 0}`] : ['--chip', this.chip, `${line}=${on ? 1 : 0}`];
    const proc = spawn('gpioset', args, { stdio: 'ignore' });
    proc.on('error', (e) => this.onError(`gpioset: ${e.message}`));
    this.leds.set(line, { on, proc });
  }

  async close(): Promise<void> {
    this.closed = true;
    const procs = [this.monitor, ...[...this.leds.values()].map((l) => l.proc)].filter((p): p is ChildProcess => !!p && p.exitCode === null);
    await Promise.all(procs.map((p) => new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGTERM'); setTimeout(() => { p.kill('SIGKILL'); r(); }, 1000).unref(); })));
    this.monitor = null;
    this.leds.clear();
  }
}
