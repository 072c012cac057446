import { DEFAULT_NAMESPACE, manifestObjects, manifests } from '../../kube/manifests.js';
import { NAME_PATTERN } from '../../api/index.js';
import { optBool, optString, usageError, type CommandSpec } from '../command.js';
import { VERSION } from '../version.js';

export const DEFAULT_IMAGE = `caravan/router:${VERSION}`;

/** Image references: `[registry[:port]/]path[:tag][@sha256:digest]`, no spaces. */
const IMAGE_PATTERN = /^[a-z0-9][a-z0-9._\-/:]*(@sha256:[0-9a-f]{64})?$/i;

export const kubeManifests: CommandSpec = {
  name: 'kube manifests',
  summary: 'print the Kubernetes manifests of a site: the CRDs and the namespace install',
  synopsis: '[--namespace NS] [--image IMG] [--crds-only | --no-crds]',
  description:
    'Prints YAML for kubectl apply: the Caravan CRDs (cluster-scoped; a cluster admin installs them once), then\n' +
    'the namespace install: a ServiceAccount, a Role and RoleBinding (rights in that namespace only) and the\n' +
    'router Deployment. The namespace must exist. Nothing is sent to a cluster. With -o json: one v1 List.',
  options: {
    namespace: { type: 'string', value: 'NS', help: `namespace of the site (default ${DEFAULT_NAMESPACE})` },
    image: { type: 'string', value: 'IMG', help: `router image (default ${DEFAULT_IMAGE})` },
    'crds-only': { type: 'boolean', help: 'print only the CRDs' },
    'no-crds': { type: 'boolean', help: 'print only the namespace install' },
  },
  examples: [
    'caravan kube manifests --crds-only | kubectl apply -f -',
    'caravan kube manifests --no-crds --namespace shop | kubectl apply -f -',
    'caravan kube manifests --namespace shop --image registry.example/caravan/router:0.1.0 > caravan.yaml',
  ],
  async run(ctx) {
    const namespace = optString(ctx, 'namespace') ?? DEFAULT_NAMESPACE;
    if (!NAME_PATTERN.test(namespace))
      throw usageError(`--namespace must be a namespace name (a DNS label), got '${namespace}'`);
    const image = optString(ctx, 'image') ?? DEFAULT_IMAGE;
    if (!IMAGE_PATTERN.test(image)) throw usageError(`--image must be an image reference, got '${image}'`);
    const crdsOnly = optBool(ctx, 'crds-only');
    const noCrds = optBool(ctx, 'no-crds');
    if (crdsOnly && noCrds) throw usageError('give --crds-only or --no-crds, not both');
    const what = crdsOnly ? 'crds' : noCrds ? 'namespace' : 'all';
    if (ctx.global.output === 'json') {
      const items = manifestObjects({ namespace, image }, what);
      ctx.out.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2)}\n`);
    } else ctx.out.stdout.write(manifests({ namespace, image }, what));
  },
};
