import type { Logger } from '../../observe/log.js';
import type { AdapterHost, OpenedFlow, OpenFlowRequest } from '../../router/contract.js';
import { AllowList } from './allow.js';
import { KeyChoice, openOverKeys, type ListenerKeys } from './key-choice.js';

/**
 * What every listener and connector shares: it is configured by a spec that names it and its routing key.
 * Adapters extend this instead of repeating the accessors.
 */
export abstract class SpecAdapter<S extends { name: string; routingKey: string }> {
  constructor(private current: S) {}

  get spec(): S {
    return this.current;
  }

  /** Replaces the spec of a running adapter (what reads it later sees the new one). */
  protected replaceSpec(spec: S): void {
    this.current = spec;
  }

  get name(): string {
    return this.spec.name;
  }

  get routingKey(): string {
    return this.spec.routingKey;
  }
}

/** What every listener's spec has: where it listens, for which routing key, and who may connect. */
export interface ListenerBaseSpec {
  name: string;
  routingKey: string;
  host: string;
  port: number;
  distribution: 'balanced' | 'closest';
  /** client addresses and CIDR prefixes allowed to connect (absent: any) */
  allow?: string[];
  /** several routing keys (priority or weighted; tcp, http1, http2); `routingKey` is then the first of them */
  keys?: ListenerKeys;
}

/**
 * A listener: a spec-configured adapter on a router (`host`) with its own logger and, when its spec has one, a
 * client allow list.
 */
export abstract class ListenerBase<S extends ListenerBaseSpec> extends SpecAdapter<S> {
  protected readonly log: Logger;
  protected allow: AllowList | undefined;
  /** set when the listener has several routing keys */
  keyChoice: KeyChoice | undefined;

  constructor(
    protected readonly host: AdapterHost,
    spec: S,
    logger: Logger,
    subsystem: string,
  ) {
    super(spec);
    this.log = logger.child({ subsystem, listener: spec.name, key: spec.routingKey });
    this.allow = AllowList.from(spec.allow, this.log);
    this.keyChoice = spec.keys ? new KeyChoice(spec.keys) : undefined;
  }

  /**
   * Takes a new spec while running, on the same host and port: connections accepted from now on use its routing
   * key(s), distribution and allow list; established connections are not touched. The denied count carries on.
   */
  protected reconfigure(spec: S): void {
    const denied = this.allow?.denied ?? 0;
    this.replaceSpec(spec);
    this.allow = AllowList.from(spec.allow, this.log);
    if (this.allow) this.allow.denied = denied;
    this.keyChoice = spec.keys ? new KeyChoice(spec.keys) : undefined;
    this.log.info('listener updated in place', { key: spec.routingKey });
  }

  /** established flows per routing key, for a listener with several keys */
  routedByKey(): Record<string, number> | undefined {
    return this.keyChoice ? Object.fromEntries(this.keyChoice.routed) : undefined;
  }

  /** Open a flow for the listener's routing key, or over its several keys (key-choice.ts). */
  protected openFor(
    request: (routingKey: string) => OpenFlowRequest,
    established: (flow: OpenedFlow) => void,
    clientGone: () => boolean,
  ): Promise<void> {
    return this.keyChoice
      ? openOverKeys(this.host, this.keyChoice, request, established, clientGone)
      : this.host.openFlow(request(this.spec.routingKey), established);
  }

  /** `denied` for stats() when the listener has an allow list */
  protected deniedStats(): Record<string, number> {
    return this.allow ? { denied: this.allow.denied } : {};
  }
}
