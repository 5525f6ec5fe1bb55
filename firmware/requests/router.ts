// Routes `client/<id>/request/<op>` to one handler per operation and publishes
// `client/<id>/response/<op>`. Every request gets exactly one reply (two for a
// join that is first pending); nothing a client sends can throw out of here.

import { parseRequest, type Reply } from '../wire/requests.ts';
import { isOp, type Op } from '../wire/topics.ts';
import type { BoxServices, Handler, Role } from './context.ts';
import { RequestError } from './context.ts';
import { checkPermission } from './permissions.ts';
import type { RateLimiter } from './rate-limit.ts';
import { HANDLERS } from './handlers/index.ts';

export interface RouterDeps {
  box: BoxServices;
  limiter: RateLimiter;
  send(clientId: string, op: string, reply: Reply): void;
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: object): void;
}

export class RequestRouter {
  constructor(private d: RouterDeps, private handlers: Record<Op, Handler> = HANDLERS) {}

  async handle(clientId: string, role: Role, op: string, payload: Uint8Array): Promise<void> {
    // unknown ops are answered on their own topic level, truncated so nobody can grow topics
    const replyOp = isOp(op) ? op : op.slice(0, 64);
    const parsed = parseRequest(op, payload);
    const t = parsed.transaction;
    const fail = (error: string) => this.d.send(clientId, replyOp, { status: 'error', error, ...(t !== undefined && { transaction: t }) });
    if (!parsed.ok) return fail(parsed.error);
    const wait = op === 'leave' ? 0 : this.d.limiter.take(clientId);
    if (wait > 0) return fail(`rate limit: too many requests, retry in ${Math.ceil(wait / 1000)} s`);
    const ctx = { clientId, role, transaction: t, box: this.d.box };
    const refused = checkPermission(parsed.op, ctx);
    if (refused) return fail(refused);
    try {
      const result = await this.handlers[parsed.op](ctx, parsed.body);
      this.d.send(clientId, replyOp, { ...result, ...(t !== undefined && { transaction: t }) });
    } catch (e) {
      if (e instanceof RequestError) return fail(e.message);
      this.d.log('error', 'request handler failed', { op, clientId, error: (e as Error).stack });
      fail(`internal error while handling '${op}'`);
    }
  }
}
