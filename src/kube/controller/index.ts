/** The controller of Kubernetes mode: watches → reconcile core → router configuration, Kubernetes writes. */
export {
  KubeController,
  type ControllerSink,
  type KubeControllerOptions,
  type ControllerStats,
} from './controller.js';
export { ActionApplier, type SecretGenerator, type ApplyResult } from './apply.js';
export { ObservedCache } from './cache.js';
export { routerFacts } from './facts.js';
export { writeSecretFiles } from './files.js';
export { registerControllerMetrics } from './metrics.js';
export { kindRef, SERVICES, SECRETS, PODS, WATCHED } from './refs.js';
export {
  NetworkStatusWriter,
  boundedNetwork,
  type NetworkStatusOptions,
  type SiteNetworkStatus,
} from './network-status.js';
