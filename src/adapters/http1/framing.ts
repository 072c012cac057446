/**
 * HTTP/1 over a flow (docs/design/adapters.md, "http1"): each direction of a flow starts with one head frame —
 * a u32 big-endian length, then that many bytes of UTF-8 JSON (the request or response head) — followed by the
 * message body as raw bytes until the flow's FIN. After a `101 Switching Protocols` response head (and after an
 * upgrade request head) the bytes that follow are the upgraded protocol's, both ways.
 */

/** Largest head frame accepted (the JSON of all header lines). */
export const MAX_HEAD_BYTES = 1024 * 1024;

export interface RequestHead {
  v: 1;
  method: string;
  url: string;
  /** the client's HTTP version, e.g. `1.1` */
  version: string;
  /** end-to-end header lines as a flat [name, value, name, value, ...] list, hop-by-hop fields removed */
  headers: string[];
  /** how the body is framed by the sender: a Content-Length header, chunked (length unknown) or no body */
  body: 'length' | 'chunked' | 'none';
  /** an Upgrade request (e.g. WebSocket): after a 101 the flow carries raw bytes both ways */
  upgrade?: string;
  /** the listener already appended the client's address to X-Forwarded-For */
  xff?: boolean;
}

export interface ResponseHead {
  v: 1;
  status: number;
  message: string;
  headers: string[];
  /** Content-Length present (else the body ends with the flow's FIN) */
  body: 'length' | 'chunked' | 'none';
}

export function encodeHead(head: RequestHead | ResponseHead): Buffer {
  const json = Buffer.from(JSON.stringify(head), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

export class FramingError extends Error {}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.length % 2 === 0 && v.every((x) => typeof x === 'string');
}

export function parseRequestHead(json: unknown): RequestHead {
  const o = json as Partial<RequestHead> | null;
  if (
    !o ||
    o.v !== 1 ||
    typeof o.method !== 'string' ||
    typeof o.url !== 'string' ||
    typeof o.version !== 'string' ||
    !isStringList(o.headers) ||
    (o.body !== 'length' && o.body !== 'chunked' && o.body !== 'none')
  )
    throw new FramingError('malformed http1 request head');
  return o as RequestHead;
}

export function parseResponseHead(json: unknown): ResponseHead {
  const o = json as Partial<ResponseHead> | null;
  if (
    !o ||
    o.v !== 1 ||
    typeof o.status !== 'number' ||
    typeof o.message !== 'string' ||
    !isStringList(o.headers)
  )
    throw new FramingError('malformed http1 response head');
  return o as ResponseHead;
}

/**
 * Reads the head frame off the start of a flow, then passes body bytes through. `onHead` gets the parsed JSON and
 * the number of flow bytes the head used (return them to the flow at once); `onBody` gets body chunks.
 */
export class HeadReader {
  private buf: Buffer | undefined;
  private done = false;

  constructor(
    private readonly onHead: (json: unknown, bytes: number) => void,
    private readonly onBody: (chunk: Buffer) => void,
  ) {}

  get headDone(): boolean {
    return this.done;
  }

  /** Throws FramingError on a bad or oversized head. */
  feed(chunk: Buffer): void {
    if (this.done) {
      this.onBody(chunk);
      return;
    }
    const buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    if (buf.length < 4) {
      this.buf = Buffer.from(buf);
      return;
    }
    const len = buf.readUInt32BE(0);
    if (len > MAX_HEAD_BYTES)
      throw new FramingError(`http1 head frame of ${len} bytes exceeds ${MAX_HEAD_BYTES}`);
    if (buf.length < 4 + len) {
      this.buf = Buffer.from(buf);
      return;
    }
    this.buf = undefined;
    this.done = true;
    let json: unknown;
    try {
      json = JSON.parse(buf.subarray(4, 4 + len).toString('utf8'));
    } catch {
      throw new FramingError('http1 head frame is not JSON');
    }
    this.onHead(json, 4 + len);
    if (buf.length > 4 + len) this.onBody(buf.subarray(4 + len));
  }
}
