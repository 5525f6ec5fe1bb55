// Request/response between the main thread and a worker thread that owns a
// blocking device (the ALSA playback and capture workers). Both sides live here so
// that the message shapes are defined once: the main thread calls an operation by
// name and awaits its result; the worker answers each request, in arrival order,
// with a result or an error message. A worker that fails or exits rejects every
// call still waiting, and every later one, with the reason.

import { parentPort, type Transferable, type Worker } from 'node:worker_threads';
import { settleWithin, startWorker, type WorkerName } from './worker-thread.ts';

/** how long terminate() waits for the worker to stop */
const TERMINATE_WAIT_MS = 1000;

/** A worker's operations: each one's request fields (besides `op`) and its result. */
export type RpcOperations = Record<string, { request: object; result: unknown }>;

type OpName<Ops extends RpcOperations> = keyof Ops & string;
type RpcRequest<Ops extends RpcOperations> = { [Op in OpName<Ops>]: { id: number; op: Op } & Ops[Op]['request'] }[OpName<Ops>];
type RpcReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

interface PendingCall {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | null;
}

export interface CallOptions {
  /** buffers whose memory moves to the worker instead of being copied */
  transfer?: Transferable[];
  /** rejects when the worker has not answered within this many ms (default: wait) */
  timeoutMs?: number;
}

/** The main thread's end: one worker thread, called by operation name. */
export class WorkerRpc<Ops extends RpcOperations> {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  /** why calls fail from now on; null while the worker runs */
  private endedBecause: string | null = null;

  private readonly onExit = (code: number) => this.end(`worker exited (${code})`);

  constructor(
    private readonly worker: Worker,
    private readonly label: string,
  ) {
    worker.on('message', (reply: RpcReply) => this.settle(reply));
    worker.on('error', (e) => this.end(`worker failed: ${e.message}`));
    worker.on('exit', this.onExit);
  }

  /** Starts hardware/<name>.ts on a worker thread; `label` starts every error message (e.g. the device's name). */
  static start<Ops extends RpcOperations>(name: WorkerName, label: string): WorkerRpc<Ops> {
    return new WorkerRpc<Ops>(startWorker(name), label);
  }

  /** false once the worker failed, exited or was terminated */
  get running(): boolean {
    return this.endedBecause === null;
  }

  call<Op extends OpName<Ops>>(op: Op, request: Ops[Op]['request'], options: CallOptions = {}): Promise<Ops[Op]['result']> {
    if (this.endedBecause !== null) return Promise.reject(new Error(`${this.label}: ${this.endedBecause}`));
    const id = this.nextId++;
    return new Promise<Ops[Op]['result']>((resolve, reject) => {
      const timer =
        options.timeoutMs === undefined
          ? null
          : setTimeout(() => {
              this.pending.delete(id);
              reject(new Error(`${this.label}: no reply to ${op} within ${options.timeoutMs} ms`));
            }, options.timeoutMs);
      timer?.unref();
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject, timer });
      this.worker.postMessage({ ...request, op, id }, options.transfer);
    });
  }

  /**
   * Stops the worker (a blocking call in it is abandoned); waiting calls reject as closed.
   * Settles within TERMINATE_WAIT_MS: a worker inside a native call that never returns
   * cannot stop, and is left to exitProcess (hardware/process-exit.ts).
   */
  async terminate(): Promise<void> {
    if (this.endedBecause === null) this.end('closed');
    this.worker.off('exit', this.onExit);
    await settleWithin(this.worker.terminate(), TERMINATE_WAIT_MS);
  }

  private settle(reply: RpcReply): void {
    const call = this.pending.get(reply.id);
    if (!call) return; // timed out meanwhile
    this.pending.delete(reply.id);
    if (call.timer) clearTimeout(call.timer);
    if (reply.ok) call.resolve(reply.result);
    else call.reject(new Error(reply.error));
  }

  private end(reason: string): void {
    this.endedBecause ??= reason;
    for (const call of this.pending.values()) {
      if (call.timer) clearTimeout(call.timer);
      call.reject(new Error(`${this.label}: ${reason}`));
    }
    this.pending.clear();
  }
}

export type RpcHandlers<Ops extends RpcOperations> = { [Op in OpName<Ops>]: (request: Ops[Op]['request']) => Ops[Op]['result'] };

/**
 * The worker's end: answers each request with its handler's result, or with the
 * message of what it threw. `transferOf` names buffers in a result whose memory
 * moves to the main thread instead of being copied.
 */
export function serveRpc<Ops extends RpcOperations>(handlers: RpcHandlers<Ops>, transferOf: (result: Ops[OpName<Ops>]['result']) => Transferable[] = () => []): void {
  const port = parentPort;
  if (!port) throw new Error('serveRpc: not on a worker thread');
  port.on('message', (request: RpcRequest<Ops>) => {
    let result: Ops[OpName<Ops>]['result'];
    try {
      const handler = handlers[request.op] as ((request: object) => Ops[OpName<Ops>]['result']) | undefined;
      if (!handler) throw new Error(`unknown operation ${JSON.stringify(request.op)}`);
      result = handler(request);
    } catch (err) {
      const failed: RpcReply = { id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) };
      port.postMessage(failed);
      return;
    }
    const answered: RpcReply = { id: request.id, ok: true, result };
    port.postMessage(answered, transferOf(result));
  });
}
