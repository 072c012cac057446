/**
 * What the parts of a running site share: the router core, the options it was started with, its logger and the
 * site configuration currently applied (replaced as a whole when resources are reloaded).
 */
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import type { MuxSessionOptions } from '../links/mux/session.js';
import type { AcceptGuard } from '../net/accept-guard.js';
import type { Router } from '../router/router.js';
import type { RouterIdentity } from '../identity.js';
import type { LoadedSite, SiteConfig } from '../site/site-dir.js';

export interface RuntimeOptions {
  logger: Logger;
  /** override the admin socket path (default `<dir>/runtime/admin.sock`) */
  adminSocket?: string;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** enable the console HTTP server on this port (overrides Site spec.console.port; 0 = ephemeral) */
  consolePort?: number;
  /** where the built web console lives (default: dist/console of this package) */
  consoleStaticDir?: string;
  /** time and timers of the whole site: router, link dialers, reconcile, status conditions (default: systemClock) */
  clock?: Clock;
  /**
   * The grant server serves the AccessGrants of the configuration applied now instead of reading resources/ at
   * each redemption (Kubernetes mode: the grants are Custom Resources, and their expiry is in their status).
   */
  grantsFromConfig?: boolean;
}

export interface RuntimeContext {
  readonly router: Router;
  readonly opts: RuntimeOptions;
  /** the site's logger (child of opts.logger with the site name) */
  readonly log: Logger;
  /** the configuration applied now */
  config: SiteConfig;
  muxOptions(): Omit<MuxSessionOptions, 'initiator' | 'logger'>;
  /** the router's key pair (its id is derived from it) */
  readonly identity: RouterIdentity;
  /** the guards of the public ports (link access, grant server, console) */
  readonly guards: { link: AcceptGuard; grant: AcceptGuard; console: AcceptGuard };
}

/** A part of the running site (link access, reconcile): it reads and replaces the shared state through `rt`. */
export abstract class RuntimePart {
  constructor(protected readonly rt: RuntimeContext) {}

  protected get config(): SiteConfig {
    return this.rt.config;
  }
  protected set config(c: SiteConfig) {
    this.rt.config = c;
  }
  protected get opts(): RuntimeOptions {
    return this.rt.opts;
  }
  protected get router(): Router {
    return this.rt.router;
  }
  protected get log(): Logger {
    return this.rt.log;
  }
  /** the site's clock (RuntimeOptions.clock) */
  protected get clock(): Clock {
    return this.rt.opts.clock ?? systemClock;
  }
  protected muxOptions(): ReturnType<RuntimeContext['muxOptions']> {
    return this.rt.muxOptions();
  }
}

/**
 * Where a running site's configuration comes from: its site directory (directorySource in reconcile.ts, the
 * default) or the Kubernetes controller's reconcile core. `load` gives the configuration to run now; the runtime
 * calls it at start and on every reload.
 */
export interface ConfigSource {
  load(): Promise<LoadedSite>;
  /**
   * Calls `onChange` when the configuration may have changed (the runtime reloads); returns a function that stops
   * watching. Absent: the runtime watches `resources/` of the configuration's directory.
   */
  watch?(onChange: () => void): () => void;
}
