// Router identities: ids derived from keys, signatures, and the proofs a grant server checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  advertisementAuthenticator,
  fingerprint,
  generateIdentity,
  idBelongsToSite,
  isSelfCertifyingId,
  keyMatchesRouterId,
  loadIdentity,
  provenRouterId,
  routerIdFor,
  routerProof,
  siteNameOf,
  verifySignature,
} from '../../src/identity.js';
import { escapeForTerminal, isNetworkKey } from '../../src/names.js';

test('a router id is the site name and the fingerprint of its key, and proves the key', () => {
  const { identity, pem } = generateIdentity('west');
  assert.match(identity.routerId, /^west-[a-z2-7]{26}$/);
  assert.equal(identity.routerId, routerIdFor('west', identity.publicKey));
  assert.equal(identity.routerId, `west-${fingerprint(identity.publicKey)}`);
  assert.ok(isSelfCertifyingId(identity.routerId));
  assert.equal(siteNameOf(identity.routerId), 'west');
  assert.ok(idBelongsToSite(identity.routerId, 'west'));
  assert.ok(!idBelongsToSite(identity.routerId, 'east'));
  assert.ok(keyMatchesRouterId(identity.publicKey, identity.routerId));
  assert.ok(!keyMatchesRouterId(generateIdentity('west').identity.publicKey, identity.routerId));
  // the stored key gives the same identity back
  assert.equal(loadIdentity('west', pem).routerId, identity.routerId);
  // long site names are cut to 36 characters; the id stays a DNS label
  const long = generateIdentity(`${'a'.repeat(35)}-b${'c'.repeat(20)}`).identity;
  assert.ok(long.routerId.length <= 63);
  assert.ok(idBelongsToSite(long.routerId, long.site));
  assert.throws(() => routerIdFor('West!', identity.publicKey));
});

test('signatures verify only for the key and the bytes they were made for', () => {
  const { identity } = generateIdentity('west');
  const data = Buffer.from('hello');
  const sig = identity.sign(data);
  assert.ok(verifySignature(identity.publicKey, data, sig));
  assert.ok(!verifySignature(identity.publicKey, Buffer.from('hellO'), sig));
  assert.ok(!verifySignature(generateIdentity('x').identity.publicKey, data, sig));
  for (const bad of [undefined, 5, '', 'x'.repeat(86), `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`]) {
    assert.equal(verifySignature(identity.publicKey, data, bad), false);
  }
  assert.equal(verifySignature('not a key', data, sig), false);
  const auth = advertisementAuthenticator(identity);
  assert.ok(auth.verify(identity.routerId, identity.publicKey, data, sig));
  // another router's id with this key: refused, whatever the signature
  const other = generateIdentity('west').identity.routerId;
  assert.ok(!auth.verify(other, identity.publicKey, data, sig));
});

test('a grant server learns the router id only from a proof over the CSR key by the key behind the id', () => {
  const { identity } = generateIdentity('west');
  const csrKey = Buffer.from('spki of the CSR key');
  const proof = routerProof(identity, csrKey);
  assert.deepEqual(provenRouterId(proof, 'west', csrKey), { routerId: identity.routerId });
  const refused = (p: unknown, site = 'west', key = csrKey): string =>
    (provenRouterId(p, site, key) as { refused: string }).refused;
  assert.match(refused(undefined), /no router proof/);
  assert.match(refused({ ...proof, id: 5 }), /malformed/);
  assert.match(refused(proof, 'east'), /does not belong to site east/);
  assert.match(refused(proof, 'west', Buffer.from('another CSR key')), /does not verify/);
  assert.match(refused({ ...proof, key: generateIdentity('west').identity.publicKey }), /key does not match/);
  assert.match(refused({ ...proof, id: 'west-a1b2c3' }), /not a self-certifying id/);
});

test('names from peers: the patterns and the terminal escape', () => {
  for (const k of ['db', 'amqp:orders/eu', 'amqpq:queue.a', '$management', 'a.b_c-d'])
    assert.ok(isNetworkKey(k), k);
  for (const k of ['', 'db\u001b[2J', 'a b', 'amqp:', 'amqp:x y', 'ftp:x', '__proto__', 'x'.repeat(300)]) {
    assert.ok(!isNetworkKey(k), JSON.stringify(k));
  }
  assert.equal(escapeForTerminal('a\u001b[31mb\u009b\u202ec\rd\ne'), 'a\\x1b[31mb\\x9b\\u202ec\\x0dd\\x0ae');
  assert.equal(escapeForTerminal('line\nnext\ttab', { keepLineBreaks: true }), 'line\nnext\ttab');
  assert.equal(escapeForTerminal('plain'), 'plain');
});
