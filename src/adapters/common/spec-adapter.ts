import type { Logger } from '../../observe/log.js';
import { AllowList } from './allow.js';

/**
 * What every listener and connector shares: it is configured by a spec that names it and its routing key.
 * Adapters extend this instead of repeating the accessors.
 */
export abstract class SpecAdapter<S extends { name: string; routingKey: string }> {
  constructor(readonly spec: S) {}

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
}

/** A listener: a spec-configured adapter with its own logger and, when its spec has one, a client allow list. */
export abstract class ListenerBase<S extends ListenerBaseSpec> extends SpecAdapter<S> {
  protected readonly log: Logger;
  protected readonly allow: AllowList | undefined;

  constructor(spec: S, logger: Logger, subsystem: string) {
    super(spec);
    this.log = logger.child({ subsystem, listener: spec.name, key: spec.routingKey });
    this.allow = AllowList.from(spec.allow, this.log);
  }

  /** `denied` for stats() when the listener has an allow list */
  protected deniedStats(): Record<string, number> {
    return this.allow ? { denied: this.allow.denied } : {};
  }
}
