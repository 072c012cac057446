/**
 * The writer the crash-safety test kills with SIGKILL at random moments: `node crash-writer.js SITE_DIR ROOT
 * FIRST_GENERATION LISTENER_PORT LINK_PORT`. It writes, through the code paths the CLI and the router use, again
 * and again: a Listener resource, an access grant and its token file, a revocation, a redemption count, the issued
 * certificate list, and a link's certificate folder with its Link resource. It starts writing when a line comes
 * on its stdin, prints "go" then, and never stops on its own.
 */
import { readFile } from 'node:fs/promises';
import { writeGeneration, type CertSets } from './crash-state.js';

const [dir, root, first, listenPort, linkPort] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];

async function main(): Promise<void> {
  const certs = JSON.parse(await readFile(`${root}/certs.json`, 'utf8')) as CertSets;
  const ports = { listener: Number(listenPort), link: Number(linkPort) };
  // started ahead of time: write only once told to (a line on stdin)
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdout.write('go\n');
  for (let g = Number(first); ; g++) await writeGeneration(dir, root, g, ports, certs);
}

if (dir !== undefined) {
  main().catch((e: unknown) => {
    process.stderr.write(`crash-writer: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
