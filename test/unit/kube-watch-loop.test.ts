// The list+watch loop of src/kube/watch-loop.ts on a ManualClock with a scripted transport: backoff is capped and
// reset, failures never escape to the caller, a throwing handler is reported, and stop() is final. The same loop
// over the real client library and the API stand-in is tested in kube-api.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { ErrorCodes } from '../../src/errors.js';
import type { KubeObject, ObjectList, WatchEvent } from '../../src/kube/api.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { WatchLoop, type WatchParams, type WatchTransport } from '../../src/kube/watch-loop.js';

interface OpenStream {
  params: WatchParams;
  event(type: string, object: unknown): void;
  done(err: unknown): void;
  closed: boolean;
}

class ScriptedTransport implements WatchTransport {
  lists: Array<() => Promise<ObjectList<KubeObject>>> = [];
  listCalls = 0;
  readonly streams: OpenStream[] = [];
  list(): Promise<ObjectList<KubeObject>> {
    this.listCalls++;
    const next = this.lists.shift();
    return next ? next() : Promise.reject(new Error('no list scripted'));
  }
  open(
    params: WatchParams,
    onEvent: (t: string, o: unknown) => void,
    onDone: (e: unknown) => void,
  ): () => void {
    const s: OpenStream = { params, event: onEvent, done: onDone, closed: false };
    this.streams.push(s);
    return () => {
      s.closed = true;
    };
  }
}

const obj = (name: string, rv: string): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test('failed lists back off exponentially up to the cap and never throw; a good list resets the backoff', async () => {
  const clock = new ManualClock();
  const t = new ScriptedTransport();
  const events: WatchEvent<KubeObject>[] = [];
  for (let i = 0; i < 6; i++)
    t.lists.push(() =>
      Promise.reject(new KubeApiError(ErrorCodes.KUBE_API, 'down', 503, 'ServiceUnavailable')),
    );
  t.lists.push(() => Promise.resolve({ resourceVersion: '10', items: [obj('a', '9')] }));
  const loop = new WatchLoop(t, {
    clock,
    random: () => 1,
    backoff: { initialMs: 100, maxMs: 1000 },
    onEvent: (e) => events.push(e),
  }).start();
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    await flush();
    const last = events.at(-1);
    assert.equal(last?.type, 'error');
    if (last?.type === 'error') waits.push(last.retryInMs);
    assert.equal(loop.state, 'waiting');
    clock.advance(last?.type === 'error' ? last.retryInMs : 0);
  }
  assert.deepEqual(waits, [100, 200, 400, 800, 1000, 1000]);
  await flush();
  assert.equal(loop.state, 'watching');
  assert.deepEqual(
    events.slice(-2).map((e) => e.type),
    ['added', 'synced'],
  );
  assert.equal(t.streams[0]!.params.resourceVersion, '10');
  assert.equal(t.streams[0]!.params.allowWatchBookmarks, true);
  // A failing watch now starts again from the initial wait.
  t.streams[0]!.done(new Error('ECONNRESET'));
  const err = events.at(-1);
  assert.equal(err?.type === 'error' && err.retryInMs, 100);
  clock.advance(100);
  assert.equal(t.streams.length, 2);
  assert.equal(t.streams[1]!.params.resourceVersion, '10');
  assert.deepEqual(loop.stats, { lists: 1, watches: 2, errors: 7 });
  loop.stop();
});

test('410 relists at once; duplicates are dropped; bookmarks move the resume point; stop() is final', async () => {
  const clock = new ManualClock();
  const t = new ScriptedTransport();
  const events: string[] = [];
  t.lists.push(() => Promise.resolve({ resourceVersion: '5', items: [obj('a', '3'), obj('b', '4')] }));
  t.lists.push(() => Promise.resolve({ resourceVersion: '20', items: [obj('a', '3'), obj('c', '19')] }));
  const loop = new WatchLoop(t, {
    clock,
    onEvent: (e) =>
      events.push(
        e.type === 'error' || e.type === 'synced' ? e.type : `${e.type}:${e.object.metadata?.name}`,
      ),
  }).start();
  await flush();
  const s = t.streams[0]!;
  s.event('ADDED', obj('b', '4')); // replayed: already known at this resourceVersion
  s.event('MODIFIED', obj('b', '6'));
  s.event('BOOKMARK', { metadata: { resourceVersion: '8' } });
  assert.equal(loop.resourceVersion, '8');
  s.event('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
  assert.ok(s.closed);
  await flush();
  assert.equal(t.listCalls, 2);
  assert.deepEqual(events, ['added:a', 'added:b', 'synced', 'modified:b', 'added:c', 'deleted:b', 'synced']);
  assert.deepEqual([...loop.objects.keys()].sort(), ['ns/a', 'ns/c']);
  assert.equal(t.streams[1]!.params.resourceVersion, '20');
  loop.stop();
  t.streams[1]!.event('ADDED', obj('d', '21'));
  t.streams[1]!.done(new Error('late'));
  assert.equal(events.length, 7, 'nothing is reported after stop()');
  assert.equal(loop.state, 'stopped');
  assert.equal(clock.pending, 0);
});

test('a handler that throws is reported as an error event and the loop goes on; a quick clean end backs off', async () => {
  const clock = new ManualClock();
  const t = new ScriptedTransport();
  const seen: WatchEvent<KubeObject>[] = [];
  t.lists.push(() => Promise.resolve({ resourceVersion: '1', items: [] }));
  const loop = new WatchLoop(t, {
    clock,
    random: () => 1,
    backoff: { initialMs: 50, maxMs: 50 },
    onEvent: (e) => {
      seen.push(e);
      if (e.type === 'added') throw new Error('handler bug');
    },
  }).start();
  await flush();
  t.streams[0]!.event('ADDED', obj('a', '2'));
  const err = seen.at(-1);
  assert.equal(err?.type, 'error');
  assert.match(err?.type === 'error' ? err.error.message : '', /handler bug/);
  t.streams[0]!.event('MODIFIED', obj('a', '3'));
  assert.equal(seen.at(-1)?.type, 'modified');
  // A watch that ends cleanly after events resumes at once; one that ends at once with nothing waits.
  t.streams[0]!.done(null);
  assert.equal(t.streams.length, 2);
  t.streams[1]!.done(null);
  assert.equal(t.streams.length, 2);
  assert.equal(loop.state, 'waiting');
  clock.advance(50);
  assert.equal(t.streams.length, 3);
  assert.equal(t.streams[2]!.params.resourceVersion, '3');
  // An HTTP 410 answer (not an event) relists too.
  t.lists.push(() => Promise.resolve({ resourceVersion: '9', items: [] }));
  t.streams[2]!.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
  await flush();
  assert.equal(seen.at(-1)?.type, 'synced');
  assert.equal(seen.at(-2)?.type, 'deleted');
  loop.stop();
});
