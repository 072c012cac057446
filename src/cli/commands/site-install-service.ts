import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../../site/atomic.js';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { optBool, optString, usageError, type CommandSpec } from '../command.js';
import { ROUTER_NODE_FLAGS } from '../../site/node-flags.js';
import { ROUTER_BIN } from '../router.js';
import { contextSite, type SiteRef } from '../sites.js';

export function unitName(site: string): string {
  return `caravan-${site}.service`;
}

/** The systemd unit that runs a site's router. */
export function renderUnit(site: SiteRef, scope: 'user' | 'system', nodePath = process.execPath): string {
  const lines = [
    '[Unit]',
    `Description=Caravan router of site ${site.name}`,
    'Documentation=https://caravan.dev/docs/cli',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[nodePath, ...ROUTER_NODE_FLAGS, ROUTER_BIN].join(' ')} --dir ${site.dir}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=2',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=20',
    // file descriptors for many links and flows (Node raises the soft limit to this hard limit at start)
    'LimitNOFILE=65536',
  ];
  if (scope === 'system') {
    const u = userInfo();
    lines.push(`User=${u.username}`);
  }
  lines.push('', '[Install]', `WantedBy=${scope === 'user' ? 'default.target' : 'multi-user.target'}`);
  return lines.join('\n') + '\n';
}

export const siteInstallService: CommandSpec = {
  name: 'site install-service',
  summary: "write a systemd unit that runs the site's router",
  synopsis: '[--scope user|system] [--unit-dir DIR] [--print]',
  description:
    'User scope writes ~/.config/systemd/user/caravan-<site>.service (no root needed); system scope\n' +
    'writes /etc/systemd/system/caravan-<site>.service. Prints how to enable it.',
  options: {
    scope: { type: 'string', value: 'SCOPE', help: 'user (default) or system' },
    'unit-dir': { type: 'string', value: 'DIR', help: 'write the unit into DIR instead' },
    print: { type: 'boolean', help: 'print the unit instead of writing it' },
  },
  examples: ['caravan site install-service', 'caravan site install-service --scope system --site hub'],
  async run(ctx) {
    const site = await contextSite(ctx);
    const scope = optString(ctx, 'scope') ?? 'user';
    if (scope !== 'user' && scope !== 'system')
      throw usageError(`--scope must be user or system (got '${scope}')`);
    const unit = renderUnit(site, scope);
    if (optBool(ctx, 'print')) {
      ctx.out.stdout.write(unit);
      return;
    }
    const xdg = ctx.env.XDG_CONFIG_HOME || join(ctx.env.HOME || homedir(), '.config');
    const dir = resolve(
      ctx.cwd,
      optString(ctx, 'unit-dir') ?? (scope === 'user' ? join(xdg, 'systemd', 'user') : '/etc/systemd/system'),
    );
    await mkdir(dir, { recursive: true });
    const path = join(dir, unitName(site.name));
    await writeFileAtomic(path, unit);
    const sc = scope === 'user' ? 'systemctl --user' : 'sudo systemctl';
    const enable = [`${sc} daemon-reload`, `${sc} enable --now ${unitName(site.name)}`];
    ctx.out.emit({ site: site.name, scope, unit: path, enable }, () => {
      ctx.out.line(`Wrote ${path}`);
      ctx.out.line('Enable and start it with:');
      for (const e of enable) ctx.out.line(`  ${e}`);
      if (scope === 'user')
        ctx.out.line(`To keep it running after you log out: loginctl enable-linger ${userInfo().username}`);
      ctx.out.line(
        `Logs: ${scope === 'user' ? 'journalctl --user' : 'journalctl'} -u ${unitName(site.name)} -f`,
      );
    });
  },
};
