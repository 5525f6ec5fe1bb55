// The one request path: MQTT clients, the box's buttons and Home Assistant's
// commands all come through here, with the same validation and permission checks
// (ARCHITECTURE.md "Control path"). Each operation has one handler; every request
// gets exactly one reply, which the transport that asked delivers (a join that is
// first pending is answered once more when it is decided); nothing a client sends
// can throw out of here. Requests are rate-limited per connection and per
// address (many client ids from one address share one budget), and a reply
// that says ok is sent only once the change it made is on disk.

import { parseRequest, type Reply } from '../wire/requests.ts';
import { isOp, type Op } from '../wire/topics.ts';
import type { Refusals } from '../security/refusals.ts';
import { BOX_SERIAL, type Caller } from '../domain/caller.ts';
import { ClientError } from '../domain/client-error.ts';
import type { BoxServices, Handler } from './context.ts';
import { checkPermission } from './permissions.ts';
import type { RateLimiter } from './rate-limit.ts';
import { HANDLERS } from './handlers/index.ts';

export interface RouterDeps {
  box: BoxServices;
  /** per connection */
  limiter: RateLimiter;
  /** per address, all connections together */
  addressLimiter?: RateLimiter;
  refusals?: Refusals;
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: object): void;
}

export class RequestRouter {
  constructor(
    private readonly deps: RouterDeps,
    private handlers: Record<Op, Handler> = HANDLERS,
  ) {}

  /** Handles one request; resolves with its reply (never rejects). */
  async handle(caller: Caller, op: string, payload: Uint8Array): Promise<Reply> {
    const { clientId, role } = caller;
    const parsed = parseRequest(op, payload);
    const t = parsed.transaction;
    const fail = (error: string): Reply => ({ status: 'error', error, ...(t !== undefined && { transaction: t }) });
    if (!parsed.ok) {
      this.deps.refusals?.count('bad_request');
      return fail(parsed.error);
    }
    // the box's own callers (its buttons, Home Assistant's commands) are not rate-limited: a person at the box is not a flood
    if (op !== 'leave' && caller.serial !== BOX_SERIAL) {
      const wait = Math.max(this.deps.limiter.take(`#${caller.serial}`), this.deps.addressLimiter?.take(caller.address) ?? 0);
      if (wait > 0) {
        this.deps.refusals?.count('rate_limit');
        return fail(`rate limit: too many requests, retry in ${Math.ceil(wait / 1000)} s`);
      }
    }
    const ctx = { clientId, role, caller, transaction: t, box: this.deps.box };
    const refused = checkPermission(parsed.op, ctx);
    if (refused) return fail(refused);
    try {
      const result = await this.handlers[parsed.op](ctx, parsed.body);
      await this.deps.box.persisted();
      return { ...result, ...(t !== undefined && { transaction: t }) };
    } catch (e) {
      if (e instanceof ClientError) return fail(e.message);
      this.deps.log('error', 'request handler failed', { op, clientId, error: (e as Error).stack });
      return fail(`internal error while handling '${op}'`);
    }
  }

  /** The same, for a caller inside the box (buttons, Home Assistant) that has a body rather than a payload. */
  ask(caller: Caller, op: Op, body: Record<string, unknown>): Promise<Reply> {
    return this.handle(caller, op, new TextEncoder().encode(JSON.stringify(body)));
  }
}

/** the topic level a reply to `op` goes on: unknown ops are answered on their own level, truncated so nobody can grow topics */
export function replyOp(op: string): string {
  return isOp(op) ? op : op.slice(0, 64);
}
