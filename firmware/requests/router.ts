// Routes `client/<id>/request/<op>` to one handler per operation and publishes
// `client/<id>/response/<op>` to the connection that asked. Every request gets
// exactly one reply (two for a join that is first pending); nothing a client
// sends can throw out of here. Requests are rate-limited per connection and per
// address (many client ids from one address share one budget), and a reply
// that says ok is sent only once the change it made is on disk.

import { parseRequest, type Reply } from '../wire/requests.ts';
import { isOp, type Op } from '../wire/topics.ts';
import type { Refusals } from '../security/refusals.ts';
import type { BoxServices, Caller, Handler } from './context.ts';
import { RequestError } from './context.ts';
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
  send(to: Caller, op: string, reply: Reply): void;
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: object): void;
}

export class RequestRouter {
  constructor(private d: RouterDeps, private handlers: Record<Op, Handler> = HANDLERS) {}

  async handle(caller: Caller, op: string, payload: Uint8Array): Promise<void> {
    const { clientId, role } = caller;
    // unknown ops are answered on their own topic level, truncated so nobody can grow topics
    const replyOp = isOp(op) ? op : op.slice(0, 64);
    const parsed = parseRequest(op, payload);
    const t = parsed.transaction;
    const fail = (error: string) => this.d.send(caller, replyOp, { status: 'error', error, ...(t !== undefined && { transaction: t }) });
    if (!parsed.ok) { this.d.refusals?.count('bad_request'); return fail(parsed.error); }
    if (op !== 'leave') {
      const wait = Math.max(this.d.limiter.take(`#${caller.serial}`), this.d.addressLimiter?.take(caller.address) ?? 0);
      if (wait > 0) {
        this.d.refusals?.count('rate_limit');
        return fail(`rate limit: too many requests, retry in ${Math.ceil(wait / 1000)} s`);
      }
    }
    const ctx = { clientId, role, caller, transaction: t, box: this.d.box };
    const refused = checkPermission(parsed.op, ctx);
    if (refused) return fail(refused);
    try {
      const result = await this.handlers[parsed.op](ctx, parsed.body);
      await this.d.box.persisted();
      this.d.send(caller, replyOp, { ...result, ...(t !== undefined && { transaction: t }) });
    } catch (e) {
      if (e instanceof RequestError) return fail(e.message);
      this.d.log('error', 'request handler failed', { op, clientId, error: (e as Error).stack });
      fail(`internal error while handling '${op}'`);
    }
  }
}
