import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  decodeHeaders,
  encodeData,
  encodeFrame,
  encodeHeaders,
  Flags,
  FrameDecoder,
  FrameError,
  FrameType,
  h2CodeOf,
  MAX_DATA_PAYLOAD,
  MAX_FRAME_PAYLOAD,
  parseGrpcTimeout,
  resetReason,
  type Frame,
} from '../../src/adapters/http2/frames.js';
import { H2Metrics } from '../../src/adapters/http2/metrics.js';
import { API_VERSION, checkResource, validateResourceOf } from '../../src/api/index.js';

function feed(bytes: Buffer, cut: (i: number) => number): Frame[] {
  const d = new FrameDecoder();
  const out: Frame[] = [];
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = Math.max(1, cut(i));
    out.push(...d.push(bytes.subarray(off, off + n)));
    off += n;
  }
  assert.equal(d.pending, 0);
  return out;
}

describe('http2 flow framing', () => {
  test('a message round-trips whatever the chunking, and wire lengths add up', () => {
    const head = { ':method': 'POST', ':path': '/x', 'set-cookie': ['a=1', 'b=2'], ':status': 200 };
    const body = randomBytes(MAX_DATA_PAYLOAD * 2 + 17);
    const wire = Buffer.concat([
      encodeHeaders(FrameType.HEAD, 0, head),
      ...encodeData(body),
      encodeHeaders(FrameType.TRAILERS, 0, { 'grpc-status': '0' }),
    ]);
    for (const cut of [() => 1, () => 7, (i: number) => (i * 131) % 9000, () => wire.length]) {
      const frames = feed(wire, cut);
      assert.deepEqual(
        frames.map((f) => f.type),
        [FrameType.HEAD, FrameType.DATA, FrameType.DATA, FrameType.DATA, FrameType.TRAILERS],
      );
      assert.deepEqual(decodeHeaders(frames[0]!.payload), head);
      assert.ok(Buffer.concat(frames.slice(1, 4).map((f) => f.payload)).equals(body));
      assert.deepEqual(decodeHeaders(frames[4]!.payload), { 'grpc-status': '0' });
      assert.equal(
        frames.reduce((n, f) => n + f.wireLength, 0),
        wire.length,
      );
    }
  });

  test('END_STREAM travels in the flags; symbol keys and odd values are dropped', () => {
    const h: Record<string | symbol, unknown> = { ':path': '/', [Symbol('s')]: 'x', junk: { a: 1 } };
    const [f] = new FrameDecoder().push(encodeHeaders(FrameType.HEAD, Flags.END_STREAM, h));
    assert.equal(f!.flags & Flags.END_STREAM, Flags.END_STREAM);
    assert.deepEqual(decodeHeaders(f!.payload), { ':path': '/' });
  });

  test('unknown types, oversized frames and bad header blocks are refused', () => {
    assert.throws(() => new FrameDecoder().push(encodeFrame(9 as never, 0, Buffer.alloc(1))), FrameError);
    const big = Buffer.alloc(6);
    big[0] = FrameType.DATA;
    big.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 2);
    assert.throws(() => new FrameDecoder().push(big), FrameError);
    assert.throws(() => decodeHeaders(Buffer.from('[1]')), FrameError);
    assert.throws(() => decodeHeaders(Buffer.from('{"a":{"b":1}}')), FrameError);
    assert.throws(() => decodeHeaders(Buffer.from('not json')), FrameError);
  });

  test('RST_STREAM codes ride in reset reasons', () => {
    assert.equal(h2CodeOf(resetReason(8, 'client stream closed')), 8);
    assert.equal(h2CodeOf('path lost'), undefined);
  });

  test('grpc-timeout values', () => {
    assert.equal(parseGrpcTimeout('1S'), 1000);
    assert.equal(parseGrpcTimeout('250m'), 250);
    assert.equal(parseGrpcTimeout('2M'), 120_000);
    assert.equal(parseGrpcTimeout('1H'), 3_600_000);
    assert.equal(parseGrpcTimeout('5000u'), 5);
    assert.equal(parseGrpcTimeout('100n'), 0.0001);
    assert.equal(parseGrpcTimeout('123456789S'), undefined, 'at most 8 digits');
    assert.equal(parseGrpcTimeout('1s'), undefined);
    assert.equal(parseGrpcTimeout(undefined), undefined);
  });

  test('metrics: status classes, grpc statuses and a cumulative latency histogram', () => {
    const m = new H2Metrics();
    m.status(200);
    m.status('204');
    m.status(503);
    m.status('bogus');
    m.grpcStatus({ 'grpc-status': '0' });
    m.grpcStatus({ 'grpc-status': '14' });
    m.grpcStatus({});
    m.latency(3);
    m.latency(40);
    m.latency(60_000);
    const s = m.snapshot();
    assert.equal(s['status2xx'], 2);
    assert.equal(s['status5xx'], 1);
    assert.equal(s['grpcStatus0'], 1);
    assert.equal(s['grpcStatus14'], 1);
    assert.equal(s['latencyLe1ms'], 0);
    assert.equal(s['latencyLe5ms'], 1);
    assert.equal(s['latencyLe50ms'], 2);
    assert.equal(s['latencyLe10000ms'], 2);
    assert.equal(s['latencyLeInf'], 3);
    assert.equal(s['latencyCount'], 3);
  });
});

describe('http2 resources', () => {
  const doc = (kind: string, spec: Record<string, unknown>) => ({
    apiVersion: API_VERSION,
    kind,
    metadata: { name: 'h2' },
    spec,
  });

  test('listener and connector TLS options', () => {
    const l = validateResourceOf(
      'Listener',
      doc('Listener', { type: 'http2', port: 8443, tls: { cert: 'c.pem', key: 'k.pem' } }),
      's',
    );
    assert.equal(l.spec.type, 'http2');
    assert.deepEqual(l.spec.tls, { cert: 'c.pem', key: 'k.pem' });
    const c = validateResourceOf(
      'Connector',
      doc('Connector', {
        type: 'http2',
        port: 50051,
        tls: { ca: 'ca.pem', insecure: false, servername: 'x.internal' },
      }),
      's',
    );
    assert.deepEqual(c.spec.tls, { ca: 'ca.pem', insecure: false, servername: 'x.internal' });
    const plain = validateResourceOf('Connector', doc('Connector', { type: 'http2', port: 1, tls: {} }), 's');
    assert.deepEqual(plain.spec.tls, {}, 'tls: {} means TLS with the built-in roots');
  });

  test('bad TLS options name their field', () => {
    const paths = (d: unknown) => checkResource(d).issues.map((i) => `${i.path}: ${i.message}`);
    assert.match(
      paths(doc('Listener', { type: 'http2', port: 1, tls: { cert: 'c' } })).join('\n'),
      /spec\.tls\.key: is required/,
    );
    assert.match(
      paths(doc('Listener', { type: 'tcp', port: 1, tls: { cert: 'c', key: 'k' } })).join('\n'),
      /spec\.tls: applies only to types http2 and amqp \(this one is tcp\)/,
    );
    assert.match(
      paths(doc('Connector', { type: 'http2', port: 1, tls: { insecure: 'yes' } })).join('\n'),
      /spec\.tls\.insecure: must be true or false/,
    );
    assert.match(
      paths(doc('Connector', { type: 'http2', port: 1, tls: { cafile: 'x' } })).join('\n'),
      /spec\.tls\.cafile: unknown field/,
    );
  });
});
