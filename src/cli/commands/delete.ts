import { optBool, optList, type CommandSpec } from '../command.js';
import { deleteResources, readInputs } from '../resources.js';
import { contextSite } from '../sites.js';

export const del: CommandSpec = {
  name: 'delete',
  summary: 'delete the resources named in YAML files',
  synopsis: '-f FILE|DIR|- [-f ...]',
  description:
    'Takes the same files as apply (validated the same way); deletes each resource of that kind and name.\n' +
    'Every resource must exist (unless --ignore-not-found); nothing is deleted otherwise.\n' +
    "With --kube: deletes the namespace's Custom Resources of those kinds and names (not its Site).",
  options: {
    filename: {
      type: 'string',
      short: 'f',
      multiple: true,
      value: 'PATH',
      help: 'a YAML file, a directory of them, or - for stdin',
    },
    'ignore-not-found': { type: 'boolean', help: 'skip resources that do not exist' },
  },
  examples: ['caravan delete -f services.yaml', 'caravan delete -f services.yaml --kube'],
  async run(ctx) {
    const inputs = await readInputs(optList(ctx, 'filename'), ctx.cwd, ctx.readStdin);
    const site = await contextSite(ctx);
    const results = await deleteResources(
      site.dir,
      inputs.map((i) => ({ kind: i.resource.kind, name: i.resource.metadata.name, source: i.source })),
      { ignoreNotFound: optBool(ctx, 'ignore-not-found') },
    );
    ctx.out.emit(results, () => {
      for (const r of results) ctx.out.line(`${r.kind}/${r.name} ${r.action}`);
    });
  },
};
