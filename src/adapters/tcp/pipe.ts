import type { Socket } from 'node:net';
import { ErrorCodes } from '../../errors.js';
import { wireCode } from '../../router/codes.js';
import type { FlowStream } from '../../router/contract.js';
import type { TransitionLog } from '../../state-machine.js';
import { TcpFlowMachine } from './flow-state.js';

export interface PipeOutcome {
  /** 'ok' when both directions finished with FIN; otherwise why the flow ended */
  outcome: 'ok' | 'reset-by-peer' | 'socket-error' | 'socket-closed';
  reason?: string;
  /** bytes read from the socket / written to it */
  bytesFromSocket: number;
  bytesToSocket: number;
}

/** What the listener read from the client before the flow was established (early data). */
export interface EarlyRead {
  /** chunks not yet written to the flow (empty when the router already sent them) */
  unsent: Buffer[];
  /** bytes read from the socket before the pipe started, sent or not */
  bytes: number;
  /** the client had already half-closed */
  ended: boolean;
}

/** The flow a pipe carries: its id and where its state transitions are logged (debug). */
export interface PipeFlow {
  id: string;
  log: TransitionLog;
}

/**
 * Move bytes between a TCP socket and a flow stream, both ways, with half-close and end-to-end backpressure:
 * the socket is paused while the flow has no credit, and credit is returned to the flow only when the socket
 * took the bytes (its write callback). The socket must have been created with `allowHalfOpen: true`.
 *
 * The flow's state (flow-state.ts) moves on FIN, reset, error and close events only; the data path does not touch
 * it and allocates nothing per chunk.
 */
export function pipeSocketFlow(
  socket: Socket,
  stream: FlowStream,
  flow: PipeFlow,
  onDone: (o: PipeOutcome) => void,
  early?: EarlyRead,
): void {
  const state = new TcpFlowMachine(flow.id, flow.log);
  let fromSocket = early?.bytes ?? 0;
  let toSocket = 0;
  let outcome: PipeOutcome['outcome'] = 'ok';
  let reason: string | undefined;
  let streamClosed = false;
  let socketClosed = false;

  /** The flow is cut short; the first cause is its outcome. */
  const abort = (o: Exclude<PipeOutcome['outcome'], 'ok'>, why: string): void => {
    // already cut, closed, or both directions finished (a reset after both FINs cuts nothing)
    if (!state.can('aborted')) return;
    outcome = o;
    reason = why;
    state.transition('aborted', why);
  };
  /** FIN from the socket (the client or the target), passed on to the flow. */
  const socketEnded = (): void => {
    const s = state.state;
    if (s === 'open') state.transition('socket-ended');
    else if (s === 'flow-ended') state.transition('ended');
    stream.end();
  };
  /**
   * The socket's FIN, checked first. libuv as Node 20 bundles it (1.46; changed upstream in libuv pull request
   * 4997) reports a reset that arrives while unread bytes wait in the receive buffer as a clean end: a short read
   * with POLLHUP is taken for end-of-file without reading the error. Passed on as a FIN, the peer's reset would
   * become a clean, truncated end at the far side. While our direction is still open, a zero-length write tells
   * the two apart: it fails on a connection that was reset (the socket's 'error' then aborts the flow) and
   * succeeds on one the peer only half-closed. Queued behind our earlier writes, it passes the FIN on once they
   * are in the kernel.
   */
  const checkedEnd = (): void => {
    if (state.state !== 'open' || socket.destroyed || !socket.writable) return socketEnded();
    socket.write(EMPTY, (err) => {
      if (!err && (state.state === 'open' || state.state === 'flow-ended')) socketEnded();
    });
  };
  const finish = (): void => {
    if (!streamClosed || !socketClosed || !state.can('closed')) return;
    state.transition('closed');
    onDone({ outcome, reason, bytesFromSocket: fromSocket, bytesToSocket: toSocket });
  };

  let blocked = false;
  for (const chunk of early?.unsent ?? []) if (!stream.write(chunk)) blocked = true;
  socket.on('data', (chunk: Buffer) => {
    fromSocket += chunk.length;
    if (!stream.write(chunk)) socket.pause();
  });
  stream.on('drain', () => socket.resume());
  if (early?.ended) checkedEnd();
  else socket.on('end', checkedEnd);
  // Start reading (a listener's socket is paused until its flow is established) unless the flow is already full.
  if (blocked) socket.pause();
  else socket.resume();

  // Chunks that arrive in one turn of the event loop (DATA frames, or pieces of one frame split across TLS
  // records) go to the socket in one writev instead of one syscall each (see corkForTurn). Write callbacks fire in
  // order, so one callback and a FIFO of chunk sizes return the credit, instead of a closure per chunk.
  const pending: number[] = [];
  let pendingHead = 0;
  const onWritten = (err?: Error | null): void => {
    const n = pending[pendingHead++] as number;
    if (pendingHead === pending.length) {
      pending.length = 0;
      pendingHead = 0;
    }
    if (err) return;
    toSocket += n;
    stream.consumed(n);
  };
  stream.on('data', (chunk) => {
    corkForTurn(socket);
    pending.push(chunk.length);
    socket.write(chunk, onWritten);
  });
  stream.on('end', () => {
    const s = state.state;
    if (s === 'open') state.transition('flow-ended');
    else if (s === 'socket-ended') state.transition('ended');
    socket.end();
  });

  stream.on('reset', (code, why) => {
    // a reset that crossed our FIN after both directions finished cuts nothing: the socket still flushes
    if (state.state === 'ended' || state.state === 'closed') return;
    abort('reset-by-peer', why || `reset code ${code}`);
    if (!socket.destroyed) socket.resetAndDestroy();
  });
  stream.on('close', () => {
    streamClosed = true;
    // A stream closes cleanly only after both FINs, else after a reset: closed any other way (a local reset
    // elsewhere), the socket has nothing left to talk to.
    if (state.state !== 'ended' && state.state !== 'aborted') {
      abort('reset-by-peer', 'the flow closed before both directions finished');
      if (!socket.destroyed) socket.resetAndDestroy();
    }
    finish();
  });
  socket.on('error', (err) => {
    if (state.state === 'ended') {
      // both directions are done; the error is the outcome, there is nothing left to cut
      if (outcome === 'ok') {
        outcome = 'socket-error';
        reason = err.message;
      }
      return;
    }
    abort('socket-error', err.message);
  });
  socket.on('close', () => {
    socketClosed = true;
    const s = state.state;
    if (s !== 'ended' && s !== 'closed') {
      abort('socket-closed', 'connection closed before both directions finished');
      stream.reset(wireCode(ErrorCodes.FLOW_RESET), reason ?? 'connection closed');
    }
    finish();
  });
}

const EMPTY = Buffer.alloc(0);

/** Sockets corked during this turn of the event loop; one setImmediate uncorks them all. */
const corked = new Set<Socket>();

function uncorkAll(): void {
  for (const s of corked) s.uncork();
  corked.clear();
}

function corkForTurn(socket: Socket): void {
  if (corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  if (corked.size === 1) setImmediate(uncorkAll);
}
