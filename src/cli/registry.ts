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
import { kubeApply, kubeDeleteFiles } from './kube/apply.js';
import { kubeNetworkStatus } from './kube/network.js';
import { kubeLinkList, kubeLinkStatus } from './kube/links.js';
import { withKube } from './kube/options.js';
import { kubeDelete, kubeServiceList, kubeServiceStatus } from './kube/services.js';
import { kubeSiteDelete } from './kube/site-delete.js';
import { kubeSiteCreate, kubeSiteStatus, SITE_KUBE_OPTIONS } from './kube/site.js';
import { kubeStatus } from './kube/status.js';
import { ISSUE_WAIT_OPTION, kubeTokenIssue, kubeTokenRedeem } from './kube/tokens.js';

const SELECTOR_OPTION = {
  selector: {
    type: 'string',
    value: 'SELECTOR',
    help: 'with --kube: deliver to the ready pods matching this label selector (app=redis,tier in (cache)) instead of --host',
  },
} as const;

export const COMMANDS: readonly CommandSpec[] = [
  withKube(siteCreate, kubeSiteCreate, SITE_KUBE_OPTIONS),
  siteStart,
  siteStop,
  withKube(siteStatus, kubeSiteStatus),
  withKube(siteDelete, kubeSiteDelete),
  siteInstallService,
  withKube(tokenIssue, kubeTokenIssue, ISSUE_WAIT_OPTION),
  withKube(tokenRedeem, kubeTokenRedeem),
  withKube(linkList, kubeLinkList),
  withKube(linkStatus, kubeLinkStatus),
  withKube(linkDelete, kubeDelete('Link')),
  linkRevoke,
  withKube(listenerCreate),
  withKube(listenerList, kubeServiceList('Listener')),
  withKube(listenerStatus, kubeServiceStatus('Listener')),
  withKube(listenerDelete, kubeDelete('Listener')),
  withKube(connectorCreate, undefined, SELECTOR_OPTION),
  withKube(connectorList, kubeServiceList('Connector')),
  withKube(connectorStatus, kubeServiceStatus('Connector')),
  withKube(connectorDelete, kubeDelete('Connector')),
  withKube(apply, kubeApply),
  withKube(del, kubeDeleteFiles),
  withKube(status, kubeStatus),
  withKube(networkStatus, kubeNetworkStatus),
  debugDump,
  kubeManifests,
  demo,
];
