/**
 * The router daemon: `caravan-router --dir SITE_DIR [--log-level LEVEL] [--log-format text|json]`, or
 * `caravan-router --kube [--kubeconfig FILE] [--namespace NS]` for a Kubernetes namespace.
 * Runs in the foreground, logs to stderr, stops cleanly on SIGINT/SIGTERM. Changes under resources/ apply
 * while it runs (also on SIGHUP).
 */
import { fstatSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage, isCaravanError } from '../errors.js';
import { createLogger, parseLogLevel, rotatingFileSink } from '../observe/log.js';
import { HealthServer, ReadinessFlag } from './health.js';
import { IdleCompactor } from './idle-compactor.js';
import type { KubeSite } from './kube.js';
import type { RuntimeOptions, SiteRuntime } from './runtime.js';
import { VERSION } from '../version.js';
import { READY_MESSAGE, RESTARTS_ENV, restartOptionsFromEnv, supervise } from './supervise.js';

const USAGE = `Usage: caravan-router --dir SITE_DIR [options]
       caravan-router --kube [--kubeconfig FILE] [--namespace NS] [options]

Runs the Caravan router of the site whose directory is SITE_DIR (resources/ holds
the Site, Link, Listener and Connector resources; runtime/ holds certificates).
Changes to resources/ are applied while the router runs (also on SIGHUP).

Options:
  --dir DIR            site directory (or CARAVAN_SITE_DIR)
  --log-level LEVEL    debug | info | warn | error (default info, or CARAVAN_LOG_LEVEL)
  --log-format FORMAT  text | json (default text)
  --console-port PORT  serve the web console, /api and /metrics on this port
                       (host from the Site's spec.console, default 127.0.0.1; 0 = any free port)
  --health-port PORT   serve GET /healthz and /readyz, without credentials, on this port of
                       every address (or CARAVAN_HEALTH_PORT; for probes)
  --kube               Kubernetes mode: the site is a namespace; its Site, Link, Listener,
                       Connector, AccessGrant and AccessToken resources are watched, and
                       the router writes their status, the Listeners' Services and Secrets.
                       In a pod it uses the service account; --dir (or CARAVAN_SITE_DIR,
                       default a temporary folder) holds files written from Secrets and logs
  --kubeconfig FILE    with --kube: reach the API server through this kubeconfig instead
  --namespace NS       with --kube: the namespace (default: the pod's, or the context's)
  --supervise          run the router as a child process and start it again when it dies
                       (backoff from CARAVAN_RESTART_DELAY_MS, state in SITE_DIR/runtime/supervisor.json)
  --version            print the version
  -h, --help           show this help

The console's files come from dist/console (or CARAVAN_CONSOLE_DIR).
Logs go to stderr and to SITE_DIR/logs/router.log (rotated at 10 MiB, 3 files kept).

Example:
  caravan-router --dir ./sites/west --log-level debug --console-port 8080
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        dir: { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'console-port': { type: 'string' },
        'health-port': { type: 'string' },
        supervise: { type: 'boolean' },
        kube: { type: 'boolean' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`error: ${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (!args.kube && (args.kubeconfig !== undefined || args.namespace !== undefined)) {
    process.stderr.write(`error: --kubeconfig and --namespace need --kube\n\n${USAGE}`);
    return 2;
  }
  if (args.kube && args.supervise) {
    process.stderr.write('error: --supervise is for host sites; in Kubernetes the pod restarts the router\n');
    return 2;
  }
  const dir =
    args.dir ??
    process.env.CARAVAN_SITE_DIR ??
    (args.kube ? mkdtempSync(join(tmpdir(), 'caravan-kube-')) : undefined);
  if (!dir) {
    process.stderr.write(`error: --dir is required\n\n${USAGE}`);
    return 2;
  }
  const format = args['log-format'] ?? 'text';
  if (format !== 'text' && format !== 'json') {
    process.stderr.write(`error: --log-format must be text or json (got '${format}')\n`);
    return 2;
  }
  let level;
  try {
    level = parseLogLevel(args['log-level'] ?? process.env.CARAVAN_LOG_LEVEL);
  } catch (e) {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    return 2;
  }
  let consolePort: number | undefined;
  if (args['console-port'] !== undefined) {
    consolePort = Number(args['console-port']);
    if (!Number.isInteger(consolePort) || consolePort < 0 || consolePort > 65535) {
      process.stderr.write(
        `error: --console-port must be a port number 0-65535 (got '${args['console-port']}')\n`,
      );
      return 2;
    }
  }
  const healthArg = args['health-port'] ?? (process.env.CARAVAN_HEALTH_PORT || undefined);
  const healthPort = healthArg === undefined ? undefined : Number(healthArg);
  if (healthPort !== undefined && (!/^\d+$/.test(healthArg ?? '') || healthPort > 65535)) {
    process.stderr.write(`error: --health-port must be a port number 0-65535 (got '${healthArg}')\n`);
    return 2;
  }
  if (args.supervise) {
    let restart;
    try {
      restart = restartOptionsFromEnv(process.env);
    } catch (e) {
      process.stderr.write(`error: ${errorMessage(e)}\n`);
      return 2;
    }
    const routerArgs = [
      ...(args['log-level'] !== undefined ? ['--log-level', args['log-level']] : []),
      ...(args['log-format'] !== undefined ? ['--log-format', format] : []),
      ...(args['console-port'] !== undefined ? ['--console-port', args['console-port']] : []),
      ...(healthArg !== undefined ? ['--health-port', healthArg] : []),
    ];
    return supervise({ dir, routerArgs, level, format, restart });
  }
  const logPath = join(dir, 'logs', 'router.log');
  const file = rotatingFileSink(logPath);
  // `caravan site start` points stderr at logs/router.log itself: then the file sink alone writes (and rotates) it
  const stderrSink = { write: (l: string) => process.stderr.write(l) };
  const logger = createLogger({
    level,
    format,
    sinks: stderrIsFile(logPath) ? [file] : [stderrSink, file],
  });
  const backoffMax = process.env.CARAVAN_LINK_BACKOFF_MAX_MS;
  const runtimeOpts = {
    ...(backoffMax ? { backoffMaxMs: Number(backoffMax) } : {}),
    ...(consolePort !== undefined ? { consolePort } : {}),
    ...(process.env.CARAVAN_CONSOLE_DIR ? { consoleStaticDir: process.env.CARAVAN_CONSOLE_DIR } : {}),
  };
  // ready once the SiteRuntime (or, in Kubernetes mode, the controller) has started; not ready while it stops
  const readiness = new ReadinessFlag('starting');
  let health: HealthServer | undefined;
  if (healthPort !== undefined) {
    try {
      health = await HealthServer.start({ port: healthPort, ready: () => readiness.get(), logger });
    } catch (e) {
      const code = isCaravanError(e) ? ` [${e.code}]` : '';
      process.stderr.write(`error: ${errorMessage(e)}${code}\n`);
      file.close();
      return 1;
    }
  }
  if (args.kube) {
    const code = await runKube({
      dir,
      logger,
      runtimeOpts,
      kubeconfig: args.kubeconfig,
      namespace: args.namespace,
      readiness,
    });
    await health?.close();
    file.close();
    return code;
  }
  let rt: SiteRuntime;
  try {
    // loaded here, not at the top: a supervisor process (`--supervise`) never needs the router's code
    const { SiteRuntime } = await import('./runtime.js');
    rt = await SiteRuntime.start(dir, { logger, ...runtimeOpts });
  } catch (e) {
    const code = isCaravanError(e) ? ` [${e.code}]` : '';
    process.stderr.write(`error: ${errorMessage(e)}${code}\n`);
    if (process.env.CARAVAN_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    await health?.close();
    return 1;
  }
  readiness.setReady();
  const compactor = new IdleCompactor({ logger });
  compactor.start();
  // under `--supervise`: how often the router was started again, and tell the supervisor it runs
  const restarts = Number(process.env[RESTARTS_ENV]);
  if (process.env[RESTARTS_ENV] !== undefined && Number.isInteger(restarts) && restarts >= 0) {
    rt.metrics
      .counter(
        'caravan_router_restarts_total',
        "Times the supervisor started this site's router again after it died (before this process)",
      )
      .set({}, restarts);
  }
  if (process.send) {
    process.send(READY_MESSAGE);
    process.channel?.unref();
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info('stopping', { signal: sig });
      resolve();
    };
    process.on('SIGHUP', () => {
      logger.info('reloading resources', { signal: 'SIGHUP' });
      void rt.reload();
    });
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // The process's own last resort, not a timer of the site: it must fire on the real clock whatever the site uses.
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  readiness.setNotReady('stopping');
  compactor.stop();
  await rt.stop();
  await health?.close();
  logger.info('stopped');
  file.close();
  return 0;
}

/** Kubernetes mode until SIGINT/SIGTERM: the controller, and the router once the namespace has a site. */
async function runKube(o: {
  dir: string;
  logger: ReturnType<typeof createLogger>;
  runtimeOpts: Omit<RuntimeOptions, 'logger'>;
  kubeconfig: string | undefined;
  namespace: string | undefined;
  readiness: ReadinessFlag;
}): Promise<number> {
  const { logger } = o;
  let site: KubeSite;
  try {
    // a host site's router never loads the Kubernetes side (its controller, certificate and manifest code)
    const { KubeSite } = await import('./kube.js');
    site = await KubeSite.start({
      connection:
        o.kubeconfig !== undefined ? { mode: 'kubeconfig', file: o.kubeconfig } : { mode: 'in-cluster' },
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      stateDir: o.dir,
      logger,
      runtime: o.runtimeOpts,
    });
  } catch (e) {
    const code = isCaravanError(e) ? ` [${e.code}]` : '';
    process.stderr.write(`error: ${errorMessage(e)}${code}\n`);
    return 1;
  }
  logger.info('kubernetes mode', { namespace: site.namespace, stateDir: o.dir });
  o.readiness.setReady();
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info('stopping', { signal: sig });
      resolve();
    };
    process.on('SIGHUP', () => {
      logger.info('reconciling', { signal: 'SIGHUP' });
      site.controller.schedule();
    });
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // As in run(): the process's own last resort, on the real clock.
  const force = setTimeout(() => process.exit(0), 5000);
  force.unref();
  o.readiness.setNotReady('stopping');
  await site.stop();
  logger.info('stopped');
  return 0;
}

function stderrIsFile(path: string): boolean {
  try {
    const a = fstatSync(2);
    const b = statSync(path);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    process.exitCode = 1;
  },
);
