/**
 * The state of one flow in the tcp pipe (pipe.ts; docs/design/architecture.md, "State machines"). Both directions
 * start open; each FIN closes one (`socket-ended`: the client or target sent FIN and the flow got FIN;
 * `flow-ended`: the flow sent FIN and the socket got it); `ended` is both. `aborted` is a flow cut short (reset
 * by the peer, a socket error, the socket closed before both directions finished). `closed` (final) is reached
 * once both the socket and the stream have closed, when the pipe reports its outcome.
 */
import { StateMachine, type TransitionLog, type TransitionTable } from '../../state-machine.js';

export type TcpFlowState = 'open' | 'socket-ended' | 'flow-ended' | 'ended' | 'aborted' | 'closed';

export const TCP_FLOW_TRANSITIONS: TransitionTable<TcpFlowState> = {
  open: ['socket-ended', 'flow-ended', 'aborted'],
  'socket-ended': ['ended', 'aborted'],
  'flow-ended': ['ended', 'aborted'],
  // a socket error after both FINs is reported as the outcome; the flow is not cut any more
  ended: ['closed'],
  aborted: ['closed'],
  closed: [],
};

export class TcpFlowMachine extends StateMachine<TcpFlowState> {
  constructor(flowId: string, log: TransitionLog) {
    super('flow', flowId, TCP_FLOW_TRANSITIONS, 'open', log);
  }
}
