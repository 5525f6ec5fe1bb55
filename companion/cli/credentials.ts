// The owner's login for the CLI. The password comes from NEARCAST_PASSWORD or a
// prompt on the terminal; `--password` on the command line still works but warns,
// because every user of the machine can read a process's arguments (ps, /proc).

export interface CredentialOptions {
  user?: string;
  password?: string;
}

export interface CredentialIo {
  env: NodeJS.ProcessEnv;
  /** asks for the password without echo; null when there is no terminal to ask on */
  prompt: ((question: string) => Promise<string>) | null;
  warn: (line: string) => void;
}

export interface Credentials {
  username?: string;
  password?: string;
}

export class CredentialError extends Error {}

/** No `--user` (and no NEARCAST_USER): a guest, whatever NEARCAST_PASSWORD holds. */
export async function resolveCredentials(o: CredentialOptions, io: CredentialIo): Promise<Credentials> {
  const username = o.user ?? (io.env.NEARCAST_USER || undefined);
  if (!username) {
    if (o.password !== undefined) throw new CredentialError('--password needs --user (the owner\'s username, usually "owner")');
    return {};
  }
  if (o.password !== undefined) {
    io.warn('warning: a password on the command line is visible to other users of this machine (ps); use NEARCAST_PASSWORD or let nearcast ask for it');
    return { username, password: o.password };
  }
  const fromEnv = io.env.NEARCAST_PASSWORD;
  if (fromEnv) return { username, password: fromEnv };
  if (!io.prompt) throw new CredentialError(`no password for '${username}': set NEARCAST_PASSWORD, or run nearcast in a terminal to be asked`);
  return { username, password: await io.prompt(`password for ${username}: `) };
}

/** Reads a line from a terminal without echoing it; Ctrl-C aborts. */
export function terminalPrompt(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): ((q: string) => Promise<string>) | null {
  if (!input.isTTY) return null;
  return (question) =>
    new Promise((resolve, reject) => {
      output.write(question);
      let typed = '';
      const done = (err?: Error) => {
        input.off('data', onData);
        input.setRawMode(false);
        input.pause();
        output.write('\n');
        if (err) reject(err);
        else resolve(typed);
      };
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done();
          if (ch === '\u0003') return done(new CredentialError('cancelled'));
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else if (ch >= ' ') typed += ch;
        }
      };
      input.setRawMode(true);
      input.resume();
      input.on('data', onData);
    });
}
