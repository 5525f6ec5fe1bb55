// WorkerRpc's main-thread end against a worker that speaks the same messages in
// plain JavaScript (so the test decides when it answers, stalls or exits), and its
// worker end (serveRpc) through the real ALSA playback worker.

import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import type { AlsaOperations } from '../../../hardware/audio/alsa-worker.ts';
import { WorkerRpc } from '../../../hardware/worker-rpc.ts';
import { rejection } from '../../helpers/rejection.ts';

type TestOperations = {
  echo: { request: { text: string }; result: string };
  fail: { request: object; result: null };
  stall: { request: object; result: null };
  exit: { request: { code: number }; result: null };
};

/** answers echo and fail at once, never answers stall, exits with the asked code on exit */
const SCRIPTED_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.op === 'echo') parentPort.postMessage({ id: m.id, ok: true, result: m.text });
  else if (m.op === 'fail') parentPort.postMessage({ id: m.id, ok: false, error: 'it went wrong' });
  else if (m.op === 'exit') process.exit(m.code);
});`;

describe('WorkerRpc', function () {
  this.timeout(20_000);
  const started: Array<{ terminate(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((rpc) => rpc.terminate()));
  });
  function scripted(): WorkerRpc<TestOperations> {
    const rpc = new WorkerRpc<TestOperations>(new Worker(SCRIPTED_WORKER, { eval: true }), 'test device');
    started.push(rpc);
    return rpc;
  }

  it("matches each reply to its call, and rejects with the worker's error message", async () => {
    const rpc = scripted();
    const replies = await Promise.all(['a', 'b', 'c'].map((text) => rpc.call('echo', { text })));
    expect(replies).to.deep.equal(['a', 'b', 'c']);
    expect((await rejection(rpc.call('fail', {}))).message).to.equal('it went wrong');
    expect(await rpc.call('echo', { text: 'still here' })).to.equal('still here');
  });

  it('a call not answered in time rejects, naming the operation; the worker keeps serving', async () => {
    const rpc = scripted();
    const err = await rejection(rpc.call('stall', {}, { timeoutMs: 50 }));
    expect(err.message).to.equal('test device: no reply to stall within 50 ms');
    expect(await rpc.call('echo', { text: 'after' })).to.equal('after');
  });

  it('a worker that exits rejects every waiting call and every later one with its exit code', async () => {
    const rpc = scripted();
    const waiting = [rpc.call('stall', {}), rpc.call('stall', {})];
    const exited = rejection(rpc.call('exit', { code: 3 }));
    const errors = await Promise.all([...waiting.map((p) => rejection(p)), exited]);
    expect(errors.map((e) => e.message)).to.deep.equal(Array(3).fill('test device: worker exited (3)'));
    expect(rpc.running).to.equal(false);
    expect((await rejection(rpc.call('echo', { text: 'x' }))).message).to.equal('test device: worker exited (3)');
  });

  it('terminate rejects waiting calls as closed', async () => {
    const rpc = scripted();
    const waiting = rejection(rpc.call('stall', {}));
    await rpc.terminate();
    expect((await waiting).message).to.equal('test device: closed');
    expect(rpc.running).to.equal(false);
  });

  it('the worker end answers an unknown operation with an error and keeps serving (real ALSA worker)', async () => {
    const rpc = WorkerRpc.start<AlsaOperations>('audio/alsa-worker', 'ALSA worker');
    started.push(rpc);
    const unknown = rpc as unknown as WorkerRpc<{ nonsense: { request: object; result: null } }>;
    expect((await rejection(unknown.call('nonsense', {}))).message).to.equal('unknown operation "nonsense"');
    // still serving: a real operation's error comes back from libasound's side
    expect((await rejection(rpc.call('status', {}))).message).to.match(/not open/);
  });
});
