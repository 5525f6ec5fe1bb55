// The `join` request of `nearcast join`: asks, waits (showing how long) while the
// box keeps the join pending for the owner's approval, gives up after `--wait`
// seconds, and tells apart a refusal from a box that went away meanwhile.

import type { BoxClient } from '../client/box-client.ts';
import { monotonicMs } from '../../firmware/util/time.ts';

export interface Grant {
  stream: { tcpPort: number; token: string };
  codec: string;
  latencyMs: number;
  song?: { title?: string; error?: string };
}

export type JoinOutcome =
  | { kind: 'granted'; grant: Grant }
  /** `waited`: nobody approved within --wait (asking again would not help) */
  | { kind: 'refused'; error: string; waited: boolean }
  | { kind: 'lost'; why: string };

export interface JoinAsk {
  name?: string;
  song?: string;
  codec?: 'opus' | 'pcm';
  /** this companion's secret for the box: a box that remembers the owner's approval knows it by this */
  listenerKey?: string;
  /** seconds to wait for the owner's approval (0: do not wait) */
  wait: number;
}

/**
 * Asks to join. While the box keeps the join pending, shows how long it has waited;
 * after `ask.wait` seconds it gives up and sends `leave`, which withdraws the
 * pending entry on the box.
 */
export async function requestJoin(client: BoxClient, ask: JoinAsk, out: (line: string) => void): Promise<JoinOutcome> {
  const tty = !!process.stderr.isTTY;
  let pendingSince = 0;
  let ticker: NodeJS.Timeout | null = null;
  let deadline: NodeJS.Timeout | null = null;
  let settle: (r: JoinOutcome) => void = () => {};
  const gaveUp = new Promise<JoinOutcome>((resolve) => {
    settle = resolve;
  });
  const giveUp = (error: string) => settle({ kind: 'refused', error, waited: true });
  const showWait = () => {
    const s = Math.round((monotonicMs() - pendingSince) / 1000);
    const line = `waiting for the owner to approve the join (share button on the box, key s under make run): ${s} s of ${ask.wait} s`;
    if (tty) process.stderr.write('\r\x1b[2K' + line);
    else if (s % 15 === 0) out(line);
  };
  const joined = client
    .request<Grant>(
      'join',
      { name: ask.name, song: ask.song, codec: ask.codec, listenerKey: ask.listenerKey },
      {
        timeoutMs: 15_000,
        onPending: () => {
          if (pendingSince) return;
          pendingSince = monotonicMs();
          if (ask.wait === 0) return giveUp('the box wants the owner to approve the join, and --wait 0 does not wait');
          if (!tty) out(`waiting for the owner to approve the join (share button on the box, key s under make run); giving up after ${ask.wait} s`);
          else showWait();
          ticker = setInterval(showWait, 1000);
          deadline = setTimeout(
            () => giveUp(`nobody approved the join within ${ask.wait} s (--wait); press the share button on the box (key s under make run) and try again`),
            ask.wait * 1000,
          );
        },
      },
    )
    .then(
      (reply): JoinOutcome =>
        reply.status === 'ok' && reply.data ? { kind: 'granted', grant: reply.data } : { kind: 'refused', error: reply.error ?? 'no reason given', waited: false },
      // the connection closed (the box restarted) or the box did not answer: it went away
      (e: Error): JoinOutcome => ({ kind: 'lost', why: e.message }),
    );
  const outcome = await Promise.race([joined, gaveUp]).finally(() => {
    if (ticker) clearInterval(ticker);
    if (deadline) clearTimeout(deadline);
    if (tty && pendingSince) process.stderr.write('\n');
  });
  // withdraw the pending entry on the box (it would also forget it when we disconnect)
  if (outcome.kind === 'refused' && outcome.waited) await client.request('leave', {}, { timeoutMs: 2000 }).catch(() => {});
  return outcome;
}
