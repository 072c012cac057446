/** Every command of the CLI, in the order `caravan --help` lists them. */
import type { CommandSpec } from './command.js';
import { apply } from './commands/apply.js';
import { connectorCreate } from './commands/connector-create.js';
import { connectorDelete } from './commands/connector-delete.js';
import { connectorList } from './commands/connector-list.js';
import { connectorStatus } from './commands/connector-status.js';
import { debugDump } from './commands/debug-dump.js';
import { del } from './commands/delete.js';
import { kubeManifests } from './commands/kube-manifests.js';
import { demo } from './commands/demo.js';
import { linkDelete } from './commands/link-delete.js';
import { linkList } from './commands/link-list.js';
import { linkRevoke } from './commands/link-revoke.js';
import { linkStatus } from './commands/link-status.js';
import { listenerCreate } from './commands/listener-create.js';
import { listenerDelete } from './commands/listener-delete.js';
import { listenerList } from './commands/listener-list.js';
import { listenerStatus } from './commands/listener-status.js';
import { networkStatus } from './commands/network-status.js';
import { siteCreate } from './commands/site-create.js';
import { siteDelete } from './commands/site-delete.js';
import { siteInstallService } from './commands/site-install-service.js';
import { siteStart } from './commands/site-start.js';
import { siteStatus } from './commands/site-status.js';
import { siteStop } from './commands/site-stop.js';
import { status } from './commands/status.js';
import { tokenIssue } from './commands/token-issue.js';
import { tokenRedeem } from './commands/token-redeem.js';

export const COMMANDS: readonly CommandSpec[] = [
  siteCreate,
  siteStart,
  siteStop,
  siteStatus,
  siteDelete,
  siteInstallService,
  tokenIssue,
  tokenRedeem,
  linkList,
  linkStatus,
  linkDelete,
  linkRevoke,
  listenerCreate,
  listenerList,
  listenerStatus,
  listenerDelete,
  connectorCreate,
  connectorList,
  connectorStatus,
  connectorDelete,
  apply,
  del,
  status,
  networkStatus,
  debugDump,
  kubeManifests,
  demo,
];
