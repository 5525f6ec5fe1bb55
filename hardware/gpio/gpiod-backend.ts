// GPIO through libgpiod (Debian `gpiod`), the character device interface that
// replaces sysfs GPIO on current kernels. Buttons: one long-lived `gpiomon`
// reports their edges (v1 syntax on bookworm, v2 on trixie), restarted with
// bounded retries when it dies. LEDs: lines held through the library itself
// (libgpiod.ts, led-lines.ts), one call per change and no process.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { GpioBackend } from './gpio-backend.ts';
import { LED_RETRY, LedLines } from './led-lines.ts';
import { LIBGPIOD_LIBRARIES, openOutputLines, type LibgpiodApi, type LibgpiodLibrary } from './libgpiod.ts';
import { RetryBudget, type RetryOptions } from './retry-budget.ts';
import { monotonicMs } from '../../firmware/util/time.ts';

export type GpiodVersion = 1 | 2;

export interface GpiodOptions {
  /** libgpiod files to try for the LEDs (tests point at a stand-in); default: by soname */
  libraries?: readonly LibgpiodLibrary[];
  ledRetry?: RetryOptions;
  monitorRestart?: RetryOptions;
  /** a gpiomon that ran this long before it died starts its retries over; ms */
  monitorStableMs?: number;
}

const MONITOR_RESTART: RetryOptions = { firstDelayMs: 1000, maxDelayMs: 30_000, maxRetries: 5 };
const MONITOR_STABLE_MS = 60_000;

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
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly monitorRestarts: RetryBudget;
  private closed = false;

  private constructor(
    readonly version: GpiodVersion,
    readonly chip: string,
    private readonly leds: LedLines,
    /** the libgpiod API the LEDs go through (not always the tools' version) */
    readonly ledApi: LibgpiodApi,
    private readonly onError: (msg: string) => void,
    private readonly options: GpiodOptions,
  ) {
    this.monitorRestarts = new RetryBudget(options.monitorRestart ?? MONITOR_RESTART);
  }

  /** Finds the tools' version and the chip (by label, else the board's chardev name), and opens the chip for the LEDs. */
  static async open(board: { label: string; chardev: string }, onError: (msg: string) => void, options: GpiodOptions = {}): Promise<GpiodBackend> {
    const version = parseGpiodVersion(await run('gpiomon', ['--version']));
    const chip = chipByLabel(await run('gpiodetect', []).catch(() => ''), board.label) ?? board.chardev;
    const outputs = openOutputLines(`/dev/${chip}`, options.libraries ?? LIBGPIOD_LIBRARIES);
    const leds = new LedLines(outputs, onError, options.ledRetry ?? LED_RETRY);
    return new GpiodBackend(version, chip, leds, outputs.api, onError, options);
  }

  /** Starts gpiomon; rejects when it cannot be started at all. */
  watch(lines: number[], onEdge: (line: number, pressed: boolean) => void): Promise<void> {
    const offsets = lines.map(String);
    // active-low with the pull-up: a press is a rising edge of the logical value
    const args =
      this.version === 1
        ? ['--active-low', '--bias=pull-up', '--line-buffered', '--format=%o %e', this.chip, ...offsets]
        : ['--chip', this.chip, '--active-low', '--bias=pull-up', '--edges=both', '--format=%o %e', ...offsets];
    return this.startMonitor(args, (text) => {
      const [offset, edge] = text.trim().split(/\s+/);
      const line = Number(offset);
      if (!lines.includes(line) || (edge !== '0' && edge !== '1' && edge !== '2')) return this.onError(`gpiomon: unexpected output '${text.slice(0, 80)}'`);
      onEdge(line, edge === '1'); // rising
    });
  }

  private startMonitor(args: string[], onLine: (text: string) => void, restart = false): Promise<void> {
    const proc = spawn('gpiomon', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.monitor = proc;
    const startedAt = monotonicMs();
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    readline.createInterface({ input: proc.stdout! }).on('line', onLine);
    return new Promise((resolve, reject) => {
      let spawned = false;
      let ended = false;
      const end = (why: string) => {
        if (ended || this.closed) return;
        ended = true;
        if (!spawned && !restart) return reject(new Error(`gpiomon: ${why}`)); // the first start: the caller reports it
        // a restart that fails reports itself here again, so its promise is not awaited
        this.monitorDied(`gpiomon ${why}`, monotonicMs() - startedAt, () => void this.startMonitor(args, onLine, true));
      };
      proc.once('spawn', () => {
        spawned = true;
        resolve();
      });
      proc.once('error', (e) => end(e.message));
      // 'close', not 'exit': by then all it wrote to stderr has been read
      proc.once('close', (code, signal) => end(`exited (${code ?? signal}): ${stderr.trim() || 'no message'}`));
    });
  }

  /** Restarts gpiomon after a growing delay; after too many deaths in a row the buttons are given up on. */
  private monitorDied(message: string, livedMs: number, restart: () => void): void {
    this.monitor = null;
    if (livedMs >= (this.options.monitorStableMs ?? MONITOR_STABLE_MS)) this.monitorRestarts.succeeded();
    const delayMs = this.monitorRestarts.failed();
    if (delayMs === null) {
      this.onError(`${message}; gave up after ${this.monitorRestarts.options.maxRetries} restarts, the buttons do nothing now`);
      return;
    }
    this.onError(`${message}; restarting it in ${delayMs} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      restart();
    }, delayMs);
  }

  setLed(line: number, on: boolean): void {
    if (!this.closed) this.leds.set(line, on);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.leds.close();
    const proc = this.monitor;
    this.monitor = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => {
        proc.kill('SIGKILL');
        resolve();
      }, 1000).unref();
    });
  }
}
