import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { FlowResetCodes, MuxResetCodes, errorCodeOf, isRetryable, wireCode } from '../../src/router/codes.js';
import { FrameDecoder, FrameType, MuxErrorCodes, encodeFrame } from '../../src/links/mux/frame.js';
import { MuxSession, type MuxStream } from '../../src/links/mux/session.js';

/** Every flow error that has a RESET code of its own. */
const FLOW_ERRORS: ErrorCode[] = [
  ErrorCodes.PROTOCOL,
  ErrorCodes.FLOW_CONTROL,
  ErrorCodes.STREAM_REFUSED,
  ErrorCodes.FLOW_RESET,
  ErrorCodes.NO_ROUTE,
  ErrorCodes.NO_CONNECTOR,
  ErrorCodes.TARGET_REFUSED,
  ErrorCodes.TARGET_UNREACHABLE,
  ErrorCodes.PATH_LOST,
  ErrorCodes.LINK_CLOSED,
];

function throughResetFrame(code: number): number {
  const [f] = new FrameDecoder().pushAll(
    encodeFrame({ type: FrameType.RESET, flags: 0, streamId: 7, code, reason: 'why' }),
  );
  assert.ok(f?.type === FrameType.RESET);
  return f.code;
}

function throughGoAwayFrame(code: number): number {
  const [f] = new FrameDecoder().pushAll(
    encodeFrame({ type: FrameType.GOAWAY, flags: 0, streamId: 0, lastStreamId: 9, code, reason: 'bye' }),
  );
  assert.ok(f?.type === FrameType.GOAWAY);
  return f.code;
}

test('the router names the mux codes as the mux does', () => {
  assert.deepEqual(MuxResetCodes, MuxErrorCodes);
});

test('every flow error encodes to its own number and decodes back, through RESET frames too', () => {
  const seen = new Set<number>();
  for (const code of FLOW_ERRORS) {
    const n = wireCode(code);
    assert.ok(!seen.has(n), `${code}: number ${n} used twice`);
    seen.add(n);
    assert.equal(errorCodeOf(n), code, `${code} -> ${n} -> back`);
    if (code !== ErrorCodes.LINK_CLOSED) assert.equal(errorCodeOf(throughResetFrame(n)), code);
  }
});

test('application codes sit in their own range; mux codes keep their mux meaning', () => {
  for (const n of Object.values(FlowResetCodes))
    assert.ok(n >= 0x100 && n <= 0xfffe_ffff, `0x${n.toString(16)}`);
  assert.equal(wireCode(ErrorCodes.NO_CONNECTOR) >= 0x100, true);
  // the finding: a mux REFUSED was read as NO_CONNECTOR, a mux FLOW_CONTROL as NO_ROUTE (and retried)
  assert.equal(errorCodeOf(MuxErrorCodes.REFUSED), ErrorCodes.STREAM_REFUSED);
  assert.ok(
    isRetryable(errorCodeOf(MuxErrorCodes.REFUSED)),
    'REFUSED: not processed, safe to retry elsewhere',
  );
  assert.equal(errorCodeOf(MuxErrorCodes.FLOW_CONTROL), ErrorCodes.FLOW_CONTROL);
  assert.equal(errorCodeOf(MuxErrorCodes.PROTOCOL), ErrorCodes.PROTOCOL);
  for (const n of [MuxErrorCodes.FLOW_CONTROL, MuxErrorCodes.PROTOCOL])
    assert.ok(!isRetryable(errorCodeOf(n)), `mux code ${n} is not retried`);
});

test('every mux code survives the frame codec both ways, in RESET and in GOAWAY', () => {
  const all = [...Object.values(MuxErrorCodes), ...Object.values(FlowResetCodes), 0xfffe_ffff];
  for (const n of all) {
    assert.equal(throughResetFrame(n), n);
    assert.equal(throughGoAwayFrame(n), n);
  }
});

test('codes without a flow error of their own, unknown and pre-0006 codes read as a generic failure, not retried', () => {
  for (const n of [
    MuxErrorCodes.NO_ERROR,
    MuxErrorCodes.CANCEL,
    MuxErrorCodes.INTERNAL,
    6,
    7,
    8,
    0xff,
    0x1ff,
    0xfffe_ffff,
  ]) {
    assert.equal(errorCodeOf(n), ErrorCodes.FLOW_RESET, `code ${n}`);
    assert.ok(!isRetryable(errorCodeOf(n)));
  }
  // a code that is not a flow error is sent as the generic reset
  assert.equal(wireCode(ErrorCodes.CERT), FlowResetCodes.FLOW_RESET);
});

test('over a real link: a stream the far mux refuses reads as STREAM_REFUSED, a router code arrives as sent', async () => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [srv] = await accepted;
  const a = new MuxSession(client, { initiator: true });
  const b = new MuxSession(srv, { initiator: false });
  try {
    await Promise.all([once(a, 'ready'), once(b, 'ready')]);
    const resetOf = (s: MuxStream): Promise<number> =>
      new Promise((resolve) => s.once('reset', (code: number) => resolve(code)));
    // no 'stream' listener on b yet: the mux refuses
    const refused = await resetOf(a.openStream(Buffer.from('x')));
    assert.equal(refused, MuxErrorCodes.REFUSED);
    assert.equal(errorCodeOf(refused), ErrorCodes.STREAM_REFUSED);
    b.on('stream', (s: MuxStream) => s.reset(wireCode(ErrorCodes.NO_CONNECTOR), 'none here'));
    for (const code of FLOW_ERRORS.filter((c) => c !== ErrorCodes.LINK_CLOSED)) {
      b.removeAllListeners('stream');
      b.on('stream', (s: MuxStream) => s.reset(wireCode(code), 'test'));
      assert.equal(errorCodeOf(await resetOf(a.openStream(Buffer.from('y')))), code);
    }
  } finally {
    a.destroy();
    b.destroy();
    client.destroy();
    srv.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
