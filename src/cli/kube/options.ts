/**
 * `withKube(command, kubeRun)`: the same verb against a Kubernetes namespace. It adds `--kube`, `--kubeconfig`,
 * `--context` and `--namespace` (and any `extra` options) to the command, says so in its help, and runs
 * `kubeRun` when `--kube` is given or CARAVAN_PLATFORM is `kubernetes` (without `kubeRun`, the command's own
 * run handles `--kube` itself). The Kubernetes options without `--kube`, or `extra` options, are usage errors on a
 * host site.
 */
import { optString, usageError, type CommandSpec, type Context, type OptionSpec } from '../command.js';
import { isKube, KUBE_OPTIONS } from './connect.js';

export function withKube(
  cmd: CommandSpec,
  kubeRun?: (ctx: Context) => Promise<number | void>,
  extra: Record<string, OptionSpec> = {},
): CommandSpec {
  const note =
    'With --kube (or CARAVAN_PLATFORM=kubernetes), acts on the Caravan Custom Resources of a Kubernetes namespace (docs/cli.md).';
  return {
    ...cmd,
    description: cmd.description ? `${cmd.description}\n${note}` : note,
    options: { ...(cmd.options ?? {}), ...KUBE_OPTIONS, ...extra },
    run(ctx) {
      if (isKube(ctx)) return kubeRun ? kubeRun(ctx) : cmd.run(ctx);
      for (const k of ['kubeconfig', 'context', 'namespace', ...Object.keys(extra)])
        if (optString(ctx, k) !== undefined)
          throw usageError(`--${k} needs --kube (or CARAVAN_PLATFORM=kubernetes)`);
      return cmd.run(ctx);
    },
  };
}
