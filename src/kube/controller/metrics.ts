/** The controller's series in a metrics registry (the router's, once it runs), filled at scrape time. */
import type { MetricsRegistry } from '../../observe/metrics.js';
import type { KubeController } from './controller.js';

export function registerControllerMetrics(reg: MetricsRegistry, c: KubeController): void {
  const reconciles = reg.counter('caravan_kube_reconciles_total', 'Reconciles of the namespace run');
  const failed = reg.counter(
    'caravan_kube_reconcile_errors_total',
    'Reconciles that failed as a whole (retried with backoff)',
  );
  const actions = reg.counter(
    'caravan_kube_actions_total',
    'Kubernetes API writes of the controller, by result',
    ['result'],
  );
  const watchErrors = reg.counter(
    'caravan_kube_watch_errors_total',
    'Failed list or watch requests (each retried by the watch)',
    ['watch'],
  );
  reg.onCollect(() => {
    reconciles.set({}, c.stats.reconciles);
    failed.set({}, c.stats.reconcileErrors);
    actions.set({ result: 'applied' }, c.stats.actionsApplied);
    actions.set({ result: 'failed' }, c.stats.actionsFailed);
    for (const [watch, n] of c.cache.watchErrors) watchErrors.set({ watch }, n);
  });
}
