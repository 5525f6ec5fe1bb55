// Requests over MQTT: every client's `client/<id>/request/<op>` goes through the
// request router, and the reply goes to the one connection that asked, on
// `client/<id>/response/<op>` (README.md "MQTT topics"). A join that waited for the
// owner is answered again here when it is decided.

import { identityOf } from '../broker/acl.ts';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import type { Caller } from '../domain/caller.ts';
import type { JoinManager, PendingJoin } from '../domain/join-manager.ts';
import type { Listeners } from '../domain/listener-directory.ts';
import type { BoxServices } from '../requests/context.ts';
import { admit } from '../requests/handlers/join.ts';
import { replyOp, type RequestRouter } from '../requests/router.ts';
import type { Reply } from '../wire/requests.ts';
import type { BoxTopics } from '../wire/topics.ts';
import type { Extension } from './extension.ts';

export interface MqttRequestsOptions {
  broker: EmbeddedBroker;
  topics: BoxTopics;
  router: RequestRouter;
  services: BoxServices;
  joins: JoinManager;
  listeners: Listeners;
}

export class MqttRequests implements Extension {
  readonly name = 'mqtt-requests';

  constructor(private readonly options: MqttRequestsOptions) {}

  async start(): Promise<void> {
    const { broker, topics, router, joins, listeners } = this.options;
    await broker.subscribe(topics.allRequests, (topic, payload, from) => {
      const request = topics.parseRequest(topic);
      if (!request || !from || request.clientId !== identityOf(from.clientId)) return; // the broker's ACL already refuses these
      // an owner's `me~pub` connection acts for `me`
      const caller = from.clientId === request.clientId ? from : { ...from, clientId: request.clientId };
      void router.handle(caller, request.op, payload).then((reply) => this.send(caller, replyOp(request.op), reply));
    });
    joins.on('decided', (decision) => void this.answerDecidedJoin(decision));
    broker.on('clientDisconnected', (connection) => {
      joins.withdraw(connection);
      listeners.connectionClosed(connection);
    });
  }

  /** The second answer to a join that was pending: admitted, or why not. */
  private async answerDecidedJoin({ pending, approved, reason }: { pending: PendingJoin; approved: boolean; reason?: string }): Promise<void> {
    const transaction = pending.transaction !== undefined ? { transaction: pending.transaction } : {};
    if (!approved) {
      this.send(pending.caller, 'join', { status: 'error', error: reason ?? 'denied', ...transaction });
      return;
    }
    if (!this.options.broker.isOpen(pending.caller)) return; // withdrawn when it closed; nothing to admit
    try {
      const context = { clientId: pending.clientId, role: pending.caller.role, caller: pending.caller, box: this.options.services };
      this.send(pending.caller, 'join', { status: 'ok', data: await admit(context, pending.request), ...transaction });
    } catch (e) {
      this.send(pending.caller, 'join', { status: 'error', error: (e as Error).message, ...transaction });
    }
  }

  /** to the connection that asked (and nobody else) */
  private send(to: Caller, op: string, reply: Reply): void {
    this.options.broker.sendTo(to, this.options.topics.response(to.clientId, op), JSON.stringify(reply));
  }

  stop(): void {}
}
