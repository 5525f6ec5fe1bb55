// Output lines (the LEDs) through libgpiod itself, loaded with koffi: a line is
// requested once and then driven by one ioctl per change, where running the
// `gpioset` tool meant one process per change. Two incompatible APIs are in the
// field, told apart by the library's file name: libgpiod 1.x (libgpiod.so.2,
// Debian and Raspberry Pi OS bookworm) and 2.x (libgpiod.so.3, trixie). Every
// call is a short ioctl, so they run on the main thread.

import koffi from 'koffi';
import { getSystemErrorName } from 'node:util';

export type LibgpiodApi = 1 | 2;
export interface LibgpiodLibrary {
  file: string;
  api: LibgpiodApi;
}

/** tried in this order: the newer API first, where a system has both */
export const LIBGPIOD_LIBRARIES: readonly LibgpiodLibrary[] = [
  { file: 'libgpiod.so.3', api: 2 },
  { file: 'libgpiod.so.2', api: 1 },
];

/** the consumer name the kernel shows for our lines (gpioinfo) */
const CONSUMER = 'nearcast';
// enum gpiod_line_direction and gpiod_line_value of the v2 API
const GPIOD_LINE_DIRECTION_OUTPUT = 3;
const lineValue = (on: boolean) => (on ? 1 : 0);

/** One chip's output lines, each requested on first use and held until released. */
export interface OutputLines {
  readonly api: LibgpiodApi;
  /** the library's own version string, e.g. 1.6.3 */
  readonly libraryVersion: string;
  /** drives `line` to `on`; throws, naming the call and its errno, when that fails */
  set(line: number, on: boolean): void;
  /** gives the line back to the kernel (the next set requests it afresh) */
  release(line: number): void;
  /** releases every line and closes the chip */
  close(): void;
}

// anonymous types: a second load (a test's fake library) must not redeclare a name
const Handle = koffi.pointer(koffi.opaque());

function failure(call: string): Error {
  const errno = koffi.errno();
  let name = `errno ${errno}`;
  try {
    name = getSystemErrorName(-errno);
  } catch {
    /* not an errno Node knows */
  }
  return new Error(`libgpiod: ${call} failed: ${name}`);
}

/** Loads the first libgpiod that is present; the error names every file tried and why. */
function loadLibrary(libraries: readonly LibgpiodLibrary[]): { lib: koffi.IKoffiLib; api: LibgpiodApi; version: string } {
  const problems: string[] = [];
  for (const { file, api } of libraries) {
    let lib: koffi.IKoffiLib;
    try {
      lib = koffi.load(file);
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
      continue;
    }
    const version = lib.func('gpiod_version_string', 'const char *', [])() as string;
    if (Number.parseInt(version, 10) !== api) {
      lib.unload();
      problems.push(`${file}: is libgpiod ${version}, expected ${api}.x`);
      continue;
    }
    return { lib, api, version };
  }
  throw new Error(`libgpiod not found (install the Debian package gpiod, which brings libgpiod2 or libgpiod3): ${problems.join('; ')}`);
}

/** How one API requests an output line, drives it and gives it back. */
interface LineCalls {
  /** a handle that holds `line` as an output showing `on` */
  request(chip: unknown, line: number, on: boolean): unknown;
  write(held: unknown, line: number, on: boolean): void;
  release(held: unknown): void;
}

/** Opens `chipPath` (/dev/gpiochipN) through the first libgpiod present. */
export function openOutputLines(chipPath: string, libraries: readonly LibgpiodLibrary[] = LIBGPIOD_LIBRARIES): OutputLines {
  const { lib, api, version } = loadLibrary(libraries);
  try {
    // bound before the chip is opened: a library missing a function fails here, holding nothing
    const calls = api === 1 ? bindV1(lib) : bindV2(lib);
    const closeChip = lib.func('gpiod_chip_close', 'void', [Handle]);
    const chip = lib.func('gpiod_chip_open', Handle, ['const char *'])(chipPath) as unknown;
    if (!chip) throw failure(`gpiod_chip_open(${chipPath})`);
    return new HeldOutputLines(
      api,
      version,
      calls,
      () => {
        closeChip(chip);
        lib.unload();
      },
      chip,
    );
  } catch (e) {
    lib.unload();
    throw e;
  }
}

class HeldOutputLines implements OutputLines {
  private readonly held = new Map<number, unknown>();
  /** once closed the library is unloaded: a call into it would crash the process */
  private closed = false;

  constructor(
    readonly api: LibgpiodApi,
    readonly libraryVersion: string,
    private readonly calls: LineCalls,
    private readonly closeChip: () => void,
    private readonly chip: unknown,
  ) {}

  set(line: number, on: boolean): void {
    if (this.closed) throw new Error(`libgpiod: line ${line}: the chip is closed`);
    const held = this.held.get(line);
    if (held) this.calls.write(held, line, on);
    else this.held.set(line, this.calls.request(this.chip, line, on));
  }

  release(line: number): void {
    const held = this.held.get(line);
    this.held.delete(line);
    if (held) this.calls.release(held);
  }

  close(): void {
    if (this.closed) return;
    for (const line of [...this.held.keys()]) this.release(line);
    this.closed = true;
    this.closeChip();
  }
}

/** libgpiod 1.x: a line object per offset, owned by the chip, requested as an output. */
function bindV1(lib: koffi.IKoffiLib): LineCalls {
  const getLine = lib.func('gpiod_chip_get_line', Handle, [Handle, 'unsigned int']);
  const requestOutput = lib.func('gpiod_line_request_output', 'int', [Handle, 'const char *', 'int']);
  const setValue = lib.func('gpiod_line_set_value', 'int', [Handle, 'int']);
  const releaseLine = lib.func('gpiod_line_release', 'void', [Handle]);
  return {
    request(chip, line, on) {
      const handle = getLine(chip, line) as unknown;
      if (!handle) throw failure(`gpiod_chip_get_line(line ${line})`);
      if ((requestOutput(handle, CONSUMER, lineValue(on)) as number) < 0) throw failure(`gpiod_line_request_output(line ${line})`);
      return handle;
    },
    write(handle, line, on) {
      if ((setValue(handle, lineValue(on)) as number) < 0) throw failure(`gpiod_line_set_value(line ${line})`);
    },
    release: (handle) => releaseLine(handle),
  };
}

/** libgpiod 2.x: a request per line, made from line settings, a line config and a request config. */
function bindV2(lib: koffi.IKoffiLib): LineCalls {
  const fn = {
    settingsNew: lib.func('gpiod_line_settings_new', Handle, []),
    settingsFree: lib.func('gpiod_line_settings_free', 'void', [Handle]),
    setDirection: lib.func('gpiod_line_settings_set_direction', 'int', [Handle, 'int']),
    setOutputValue: lib.func('gpiod_line_settings_set_output_value', 'int', [Handle, 'int']),
    lineConfigNew: lib.func('gpiod_line_config_new', Handle, []),
    lineConfigFree: lib.func('gpiod_line_config_free', 'void', [Handle]),
    addLineSettings: lib.func('gpiod_line_config_add_line_settings', 'int', [Handle, 'const unsigned int *', 'size_t', Handle]),
    requestConfigNew: lib.func('gpiod_request_config_new', Handle, []),
    requestConfigFree: lib.func('gpiod_request_config_free', 'void', [Handle]),
    setConsumer: lib.func('gpiod_request_config_set_consumer', 'void', [Handle, 'const char *']),
    requestLines: lib.func('gpiod_chip_request_lines', Handle, [Handle, Handle, Handle]),
    setValue: lib.func('gpiod_line_request_set_value', 'int', [Handle, 'unsigned int', 'int']),
    releaseRequest: lib.func('gpiod_line_request_release', 'void', [Handle]),
  };
  return {
    // the three config objects live only for the request; the request outlives them
    request(chip, line, on) {
      const settings = fn.settingsNew() as unknown;
      const lineConfig = fn.lineConfigNew() as unknown;
      const requestConfig = fn.requestConfigNew() as unknown;
      try {
        if (!settings || !lineConfig || !requestConfig) throw failure('allocating a line request');
        if ((fn.setDirection(settings, GPIOD_LINE_DIRECTION_OUTPUT) as number) < 0) throw failure('gpiod_line_settings_set_direction');
        if ((fn.setOutputValue(settings, lineValue(on)) as number) < 0) throw failure('gpiod_line_settings_set_output_value');
        if ((fn.addLineSettings(lineConfig, Uint32Array.of(line), 1, settings) as number) < 0) throw failure(`gpiod_line_config_add_line_settings(line ${line})`);
        fn.setConsumer(requestConfig, CONSUMER);
        const request = fn.requestLines(chip, requestConfig, lineConfig) as unknown;
        if (!request) throw failure(`gpiod_chip_request_lines(line ${line})`);
        return request;
      } finally {
        if (settings) fn.settingsFree(settings);
        if (lineConfig) fn.lineConfigFree(lineConfig);
        if (requestConfig) fn.requestConfigFree(requestConfig);
      }
    },
    write(request, line, on) {
      if ((fn.setValue(request, line, lineValue(on)) as number) < 0) throw failure(`gpiod_line_request_set_value(line ${line})`);
    },
    release: (request) => fn.releaseRequest(request),
  };
}
