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
