// A Kubernetes API server stand-in for tests (see server.ts).
export { KubeApiServer, type KubeApiServerOptions, type Fault, type RequestRecord } from './server.js';
export { serviceAccountUser, type User } from './rbac.js';
export type { JsonObject } from './status.js';
export {
  ADMIN_TOKEN,
  standInTls,
  startStandIn,
  standInKubeconfig,
  addNamespace,
  addServiceAccount,
  widgetCrd,
} from './fixture.js';
