import { ErrorCodes } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { wireCode } from '../../router/codes.js';
import type { AdapterHost, FlowHeader, FlowProtocol, FlowStream } from '../../router/contract.js';
import { SpecAdapter } from './spec-adapter.js';
import { TargetPool, withdrawWhileDown, type Target, type TargetPoolOptions } from './targets.js';

/** How a connector's pool is set up: its targets, how often a failed one is probed and how long a try may take. */
export interface PoolSettings {
  targets: ReadonlyArray<{ host: string; port: number }>;
  probeIntervalMs: number;
  connectTimeoutMs: number;
  /** whether a failed target answers again (default: a TCP connection) */
  probe?: TargetPoolOptions['probe'];
}

/**
 * A connector over a TargetPool (tcp, http1, udp): flows go to the healthy target with the fewest active flows;
 * while no target answers, the connector withdraws itself from the network (withdrawWhileDown) until a probe,
 * on the router's clock, finds one up again. A subclass delivers flows and says how its connections are cut.
 */
export abstract class PooledConnector<S extends { name: string; routingKey: string }> extends SpecAdapter<S> {
  readonly pool: TargetPool;
  protected readonly log: Logger;
  protected stopped = false;

  constructor(
    protected readonly host: AdapterHost,
    spec: S,
    logger: Logger,
    subsystem: string,
    pool: PoolSettings,
  ) {
    super(spec);
    this.log = logger.child({ subsystem, connector: spec.name, key: spec.routingKey });
    this.pool = new TargetPool(pool.targets, {
      clock: host.clock,
      probeIntervalMs: pool.probeIntervalMs,
      connectTimeoutMs: pool.connectTimeoutMs,
      ...(pool.probe ? { probe: pool.probe } : {}),
      onHealthChange: withdrawWhileDown(
        this.log,
        host,
        () => this.target,
        () => this.stopped,
      ),
      onTargetChange: (t) => this.targetChanged(t),
    });
  }

  get healthy(): boolean {
    return this.pool.healthy;
  }

  get target(): string {
    return this.pool.description;
  }

  /** One target went down or answers again (the pool's health as a whole is handled above). */
  protected targetChanged(_t: Target): void {}

  /** Resets a flow of another protocol than `proto` (true: it was refused, the caller stops there). */
  protected refusesProtocol(stream: FlowStream, header: FlowHeader, proto: FlowProtocol): boolean {
    if (header.proto === proto) return false;
    stream.reset(
      wireCode(ErrorCodes.PROTOCOL),
      `connector ${this.spec.name} is ${proto}, the flow is ${header.proto}`,
    );
    return true;
  }

  /** Ends the connections or sessions to the targets. */
  protected abstract cutConnections(): void;

  stop(): void {
    this.stopped = true;
    this.pool.stop();
    this.cutConnections();
  }
}
