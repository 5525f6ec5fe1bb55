// Structured logs: one JSON object per line on stderr when not a TTY (systemd
// journal, CI), a readable line on a terminal.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, extra?: object): void;
  info(msg: string, extra?: object): void;
  warn(msg: string, extra?: object): void;
  error(msg: string, extra?: object): void;
  log(level: Level, msg: string, extra?: object): void;
}

export function createLogger(min: Level = 'info', out: NodeJS.WritableStream = process.stderr, json = !(out as { isTTY?: boolean }).isTTY): Logger {
  const log = (level: Level, msg: string, extra?: object) => {
    if (ORDER[level] < ORDER[min]) return;
    if (json) out.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...extra }) + '\n');
    else out.write(`${new Date().toISOString().slice(11, 23)} ${level.padEnd(5)} ${msg}${extra && Object.keys(extra).length ? ' ' + JSON.stringify(extra) : ''}\n`);
  };
  return {
    log,
    debug: (m, e) => log('debug', m, e),
    info: (m, e) => log('info', m, e),
    warn: (m, e) => log('warn', m, e),
    error: (m, e) => log('error', m, e),
  };
}
