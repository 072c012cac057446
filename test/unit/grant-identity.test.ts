// The grant server names the redeemer itself: a real HTTPS grant server of a real site directory, redemptions
// with good and bad router proofs. The certificate's subject is the proven router id and the site, whatever the
// CSR says.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { generateIdentity, routerProof } from '../../src/identity.js';
import { nullLogger } from '../../src/observe/log.js';
import { certificateInfo, createKeyAndCsr, csrPublicKey } from '../../src/site/certs/index.js';
import { issueToken } from '../../src/site/grants/index.js';
import { postJson } from '../../src/site/grants/client.js';
import { GrantServer } from '../../src/site/grants/server.js';
import { makeTempRoot, TestSite } from '../support/sites.js';

let root: Awaited<ReturnType<typeof makeTempRoot>>;
let hub: TestSite;
let server: GrantServer;

before(async () => {
  root = await makeTempRoot('grant-identity');
  hub = await TestSite.create(root.dir, {
    name: 'hub',
    linkAccess: { host: '127.0.0.1', port: 0 },
  });
  const rt = join(hub.dir, 'runtime');
  server = new GrantServer({
    dir: hub.dir,
    siteName: 'hub',
    routerId: hub.routerId,
    host: '127.0.0.1',
    port: 0,
    linkAccess: { host: '127.0.0.1' },
    linkPort: () => 4242,
    tls: { ca: join(rt, 'ca.crt'), cert: join(rt, 'server.crt'), key: join(rt, 'server.key') },
    logger: nullLogger,
  });
  await server.start();
});

after(async () => {
  await server?.stop();
  await root?.remove();
});

async function redeem(
  body: (csr: string, spki: Buffer) => Record<string, unknown>,
  given?: Awaited<ReturnType<typeof issueToken>>['token'],
): Promise<unknown> {
  const token = given ?? (await issueToken(hub.dir, { redemptions: 5 })).token;
  const { csrPem } = await createKeyAndCsr({ commonName: 'hub' }); // a CSR claiming to be the hub itself
  const spki = await csrPublicKey(csrPem);
  return postJson(
    token.spec.url,
    { code: token.spec.code, csr: csrPem, ...body(csrPem, spki) },
    { ca: token.spec.ca },
  );
}

const refusal = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`;
  }
  assert.fail('the redemption was accepted');
};

test('the issued certificate names the proven router id and its site, never the CSR subject', async () => {
  const west = generateIdentity('west').identity;
  const answer = (await redeem((_csr, spki) => ({ site: 'west', router: routerProof(west, spki) }))) as {
    certificate: string;
    routerId: string;
  };
  const info = certificateInfo(answer.certificate);
  assert.equal(info.commonName, west.routerId);
  assert.match(info.subject, /O=west/);
  assert.ok(!info.subject.includes('CN=hub'));
  assert.equal(answer.routerId, hub.routerId, 'the answer names the issuing router');
});

test('bad site names, missing or wrong proofs are refused and consume nothing', async () => {
  const west = generateIdentity('west').identity;
  assert.match(
    await refusal(redeem((_c, spki) => ({ site: 'West\u001b[31m', router: routerProof(west, spki) }))),
    /site must be a site name/,
  );
  assert.match(await refusal(redeem(() => ({ site: 'west' }))), /needs \{code, csr, site, router\}/);
  // a proof for another CSR key
  assert.match(
    await refusal(redeem(() => ({ site: 'west', router: routerProof(west, Buffer.from('other')) }))),
    /CARAVAN_PEER_IDENTITY .*does not verify/,
  );
  // a proof for the right key by a router of another site
  const east = generateIdentity('east').identity;
  assert.match(
    await refusal(redeem((_c, spki) => ({ site: 'west', router: routerProof(east, spki) }))),
    /does not belong to site west/,
  );
  // a refused redemption does not use up a single-use token
  const { token } = await issueToken(hub.dir, { redemptions: 1 });
  assert.match(
    await refusal(redeem(() => ({ site: 'west', router: routerProof(west, Buffer.from('x')) }), token)),
    /PEER_IDENTITY/,
  );
  await redeem((_c, spki) => ({ site: 'west', router: routerProof(west, spki) }), token);
  assert.match(
    await refusal(redeem((_c, spki) => ({ site: 'west', router: routerProof(west, spki) }), token)),
    /GRANT_USED_UP|used/i,
  );
});
