import { optList, type CommandSpec } from '../command.js';
import { applyResources, readInputs } from '../resources.js';
import { routerState } from '../router.js';
import { contextSite } from '../sites.js';

export const apply: CommandSpec = {
  name: 'apply',
  summary: 'create or update resources from YAML files',
  synopsis: '-f FILE|DIR|- [-f ...]',
  description:
    'Validates every document first: when anything is invalid, each problem is reported with its file,\n' +
    'resource and field path, and nothing is written. A resource replaces the one of the same kind and name.\n' +
    'With --kube: the same files become Custom Resources of the namespace (created, or updated on the version\n' +
    "read), with the spec as written; the Kubernetes-only fields (a Connector's selector, a Site's\n" +
    'linkAccess.type) are accepted there, and refused on a host site.',
  options: {
    filename: {
      type: 'string',
      short: 'f',
      multiple: true,
      value: 'PATH',
      help: 'a YAML file, a directory of them, or - for stdin',
    },
  },
  examples: [
    'caravan apply -f services.yaml',
    'cat site.yaml | caravan apply -f -',
    'caravan apply -f k8s/ --kube --namespace shop',
  ],
  async run(ctx) {
    const inputs = await readInputs(optList(ctx, 'filename'), ctx.cwd, ctx.readStdin);
    const site = await contextSite(ctx);
    const results = await applyResources(site.dir, site.name, inputs);
    const st = await routerState(site.dir, 1500);
    const siteChanged = results.some((r) => r.kind === 'Site' && r.action !== 'unchanged');
    ctx.out.emit(results, () => {
      for (const r of results) ctx.out.line(`${r.kind}/${r.name} ${r.action}`);
      if (siteChanged && st.running) {
        ctx.out.line(
          `The Site changed: restart the router to apply it ('caravan site stop && caravan site start --detach').`,
        );
      }
    });
  },
};
