/**
 * AMQP test set-up shared by the amqp tests: Debian's Python with Qpid Proton (the scripts in test/support/amqp/)
 * and three real routers in a line, west - hub - east, each with an amqp listener `bus`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { repoRoot } from './proc.js';
import { TestSite } from './sites.js';

export const HOST = '127.0.0.1';
/** Debian's interpreter, which has python3-qpid-proton (another python3 may come first on PATH) */
export const PYTHON = '/usr/bin/python3';
export const SCRIPTS = join(repoRoot, 'test', 'support', 'amqp');

export interface AmqpLine {
  sites: Record<'west' | 'hub' | 'east', TestSite>;
  /** the `bus` listener's URL at each site */
  bus: Record<string, string>;
}

/**
 * Creates the sites under `<home>/sites` (where the CLI finds them), lets `configure` add resources to each
 * before it starts, then starts hub, links west and east to it and waits for their routers.
 */
export async function amqpLine(
  home: string,
  configure: (
    name: 'west' | 'hub' | 'east',
    site: TestSite,
    bus: Record<string, string>,
  ) => Promise<void> = async () => undefined,
): Promise<AmqpLine> {
  await mkdir(join(home, 'sites'), { recursive: true });
  const bus: Record<string, string> = {};
  const sites = {} as Record<'west' | 'hub' | 'east', TestSite>;
  for (const name of ['west', 'hub', 'east'] as const) {
    const s = await TestSite.create(join(home, 'sites'), {
      name,
      ...(name === 'hub' ? { linkAccess: { host: HOST, port: 0 } } : {}),
    });
    const port = await freePort();
    bus[name] = `amqp://${HOST}:${port}`;
    await s.writeResource('Listener', 'bus', {
      type: 'amqp',
      host: HOST,
      port,
      ...(name === 'west' ? { multicast: ['bus.events.'] } : {}),
    });
    await configure(name, s, bus);
    sites[name] = s;
  }
  sites.hub.start();
  const linkPort = (await sites.hub.ready()).router.linkAccess?.port ?? 0;
  for (const name of ['west', 'east'] as const) {
    await sites[name].linkTo(sites.hub, { endpoints: [{ host: HOST, port: linkPort }] });
    sites[name].start();
    await sites[name].ready();
  }
  await sites.west.routesTo(['hub', 'east']);
  return { sites, bus };
}
