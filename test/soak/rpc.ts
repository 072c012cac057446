/**
 * The soak's gRPC traffic (a real @grpc/grpc-js client and server; Caravan carries it with an http2 listener and
 * connector). One generic unary method with Buffer messages: the request is a 16-byte id and a random payload,
 * with the SHA-256 of the whole request in the `x-sum` metadata; the server checks that sum (a mismatch is an
 * anomaly at the target) and answers with the SHA-256 of what it received followed by the request itself, so the
 * client checks both directions byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { emit } from './protocol.js';

const same = (b: Buffer): Buffer => b;
const unaryMethod: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/caravan.soak.Check/Unary',
  requestStream: false,
  responseStream: false,
  requestSerialize: same,
  requestDeserialize: same,
  responseSerialize: same,
  responseDeserialize: same,
};
const service = { unary: unaryMethod } satisfies grpc.ServiceDefinition;

type Unary = (
  req: Buffer,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
) => grpc.ClientUnaryCall;
interface CheckClient extends grpc.Client {
  unary: Unary;
}
const CheckClientCtor = grpc.makeGenericClientConstructor(service, 'Check') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => CheckClient;

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** Runs the gRPC target on host:port until SIGTERM. */
export function runGrpcServer(host: string, port: number, site: string, key: string): void {
  const server = new grpc.Server();
  server.addService(service, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const want = String(call.metadata.get('x-sum')[0] ?? '');
      const got = sha(call.request);
      if (got.toString('hex') !== want) {
        const id = call.request.subarray(0, 16).toString('hex');
        emit({
          ev: 'anomaly',
          site,
          side: 'server',
          kind: 'corrupted',
          key,
          id,
          start: Date.now(),
          end: Date.now(),
          detail: `gRPC request of ${call.request.length} bytes does not match its x-sum`,
        });
        cb({ code: grpc.status.DATA_LOSS, details: 'request does not match x-sum' });
        return;
      }
      cb(null, Buffer.concat([got, call.request]));
    },
  });
  server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      process.stderr.write(`grpc server: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    emit({ ev: 'ready', role: 'grpc-server' });
  });
  process.on('SIGTERM', () => {
    server.forceShutdown();
    setImmediate(() => process.exit(0));
  });
}

export type RpcOutcome =
  | { ok: true; bytes: number }
  | { ok: false; kind: 'failed'; code: string }
  | { ok: false; kind: 'corrupted'; detail: string };

/** A gRPC channel to the local http2 listener, reconnecting quickly, without automatic retries. */
export class RpcClient {
  private readonly client: CheckClient;
  constructor(port: number) {
    this.client = new CheckClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  /** One checked unary call with `size` payload bytes; resolves with its outcome, never rejects. */
  call(size: number, deadlineMs: number): Promise<RpcOutcome> {
    const req = Buffer.concat([randomBytes(16), randomBytes(size)]);
    const md = new grpc.Metadata();
    md.set('x-sum', sha(req).toString('hex'));
    return new Promise((resolve) => {
      this.client.unary(req, md, { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) {
          resolve({ ok: false, kind: 'failed', code: `grpc-${grpc.status[err.code] ?? err.code}` });
          return;
        }
        if (!res || res.length !== 32 + req.length) {
          resolve({
            ok: false,
            kind: 'corrupted',
            detail: `response of ${res?.length ?? 0} bytes for a request of ${req.length}`,
          });
          return;
        }
        if (!res.subarray(0, 32).equals(sha(req)) || !res.subarray(32).equals(req)) {
          resolve({ ok: false, kind: 'corrupted', detail: 'response does not echo the request' });
          return;
        }
        resolve({ ok: true, bytes: req.length + res.length });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
