// Watch streams (reference/using-api/api-concepts, "Efficient detection of changes", "Watch bookmarks"):
// chunked newline-delimited JSON `{type, object}` events over one long HTTP response.
//
// - no resourceVersion or "0": synthetic ADDED events for the current objects, then changes;
// - a resourceVersion still in the history: the events after it, then changes;
// - an older one: a single ERROR event carrying a 410 `Expired` Status, then the stream ends;
// - with a selector, a change that moves an object into the selection is ADDED and out of it DELETED;
// - allowWatchBookmarks: BOOKMARK events (an object of the kind with only metadata.resourceVersion) on a timer and
//   when the test asks; timeoutSeconds ends the stream.

import type { ServerResponse } from 'node:http';
import type { ResourceType } from './resources.js';
import { statusObject, type JsonObject } from './status.js';
import { typeKeyOf, type Store, type StoredEvent } from './store.js';

export interface WatchRequest {
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  filter: (obj: JsonObject) => boolean;
  resourceVersion: string | undefined;
  bookmarks: boolean;
  timeoutMs: number | undefined;
}

export class WatchStream {
  private closed = false;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly res: ServerResponse,
    private readonly req: WatchRequest,
    private readonly onClose: (w: WatchStream) => void,
  ) {}

  get allowsBookmarks(): boolean {
    return this.req.bookmarks;
  }

  start(): void {
    const { store, req } = this;
    this.res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    this.res.flushHeaders();
    this.res.on('close', () => this.close());
    const rvText = req.resourceVersion;
    if (rvText === undefined || rvText === '' || rvText === '0') {
      for (const obj of store.list(req.type, req.namespace)) if (req.filter(obj)) this.send('ADDED', obj);
    } else {
      const from = Number(rvText);
      if (from < store.compactedRv) {
        this.write({
          type: 'ERROR',
          object: statusObject(
            410,
            'Expired',
            `too old resource version: ${from} (${store.compactedRv + 1})`,
          ),
        });
        this.close();
        return;
      }
      for (const ev of store.history) if (ev.rv > from) this.deliver(ev);
    }
    this.unsubscribe = store.onEvent((ev) => this.deliver(ev));
    if (req.timeoutMs !== undefined) this.timer = setTimeout(() => this.close(), req.timeoutMs);
  }

  private deliver(ev: StoredEvent): void {
    const { req } = this;
    if (this.closed || ev.typeKey !== typeKeyOf(req.type)) return;
    if (req.type.namespaced && req.namespace !== undefined && ev.namespace !== req.namespace) return;
    const now = req.filter(ev.object);
    if (ev.type === 'ADDED') {
      if (now) this.send('ADDED', ev.object);
    } else if (ev.type === 'DELETED') {
      if (now) this.send('DELETED', ev.object);
    } else {
      const before = ev.prev !== undefined && req.filter(ev.prev);
      if (before && now) this.send('MODIFIED', ev.object);
      else if (now) this.send('ADDED', ev.object);
      else if (before) this.send('DELETED', ev.object);
    }
  }

  private send(type: string, obj: JsonObject): void {
    const o = { ...obj };
    o['apiVersion'] = this.req.type.group ? `${this.req.type.group}/${this.req.version}` : this.req.version;
    o['kind'] = this.req.type.kind;
    this.write({ type, object: o });
  }

  bookmark(): void {
    if (this.closed || !this.req.bookmarks) return;
    const t = this.req.type;
    this.write({
      type: 'BOOKMARK',
      object: {
        kind: t.kind,
        apiVersion: t.group ? `${t.group}/${this.req.version}` : this.req.version,
        metadata: {
          resourceVersion: String(this.store.rv),
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      },
    });
  }

  private write(ev: { type: string; object: JsonObject }): void {
    if (!this.closed) this.res.write(JSON.stringify(ev) + '\n');
  }

  /** Ends the stream cleanly (the client sees the response end). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    if (!this.res.writableEnded) this.res.end();
    this.onClose(this);
  }

  /** Cuts the connection without ending the response (as a crashed server would). */
  destroy(): void {
    this.res.socket?.destroy();
    this.close();
  }
}
