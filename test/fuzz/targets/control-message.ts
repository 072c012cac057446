/**
 * Router control messages carried in CONTROL frames (src/router/messages.ts: hi, rt, cost) and the routing
 * messages inside `rt` (src/routing/messages.ts: HELLO and router advertisements), as a peer sends them.
 */
import { CaravanError } from '../../../src/errors.js';
import { decodeControl, encodeControl } from '../../../src/router/messages.js';
import {
  canonicalContent,
  compareAds,
  parseRoutingMessage,
  sameContent,
} from '../../../src/routing/messages.js';
import { expectTyped, invariant, retyped } from '../harness.js';

export function fuzz(data: Buffer): void {
  expectTyped([CaravanError], () => {
    const m = decodeControl(retyped(data));
    if (m.k !== 'rt') return;
    // The routing layer never throws on a malformed message: it drops it (undefined).
    const r = parseRoutingMessage(m.m);
    if (r === undefined || r.t !== 'ra') return;
    invariant(compareAds(r, r) === 0, 'an advertisement does not compare equal to itself');
    invariant(sameContent(r, r), 'an advertisement does not have the same content as itself');
    canonicalContent(r);
    // A normalised advertisement survives a trip through the wire encoding unchanged.
    const again = decodeControl(encodeControl({ k: 'rt', m: r }));
    const back = again.k === 'rt' ? parseRoutingMessage(again.m) : undefined;
    invariant(
      back !== undefined && back.t === 'ra' && sameContent(back, r),
      're-encoded advertisement differs',
    );
  });
}

export function seeds(): Buffer[] {
  return [
    encodeControl({
      k: 'hi',
      id: 'west-1',
      mode: 'interior',
      site: 'west',
      cost: 1,
      hello: 1000,
      dead: 3000,
    }),
    encodeControl({ k: 'cost', cost: 10 }),
    encodeControl({
      k: 'rt',
      m: { t: 'hello', id: 'west-1', mode: 'interior', seen: ['east-1'], dead: 3000 },
    }),
    encodeControl({
      k: 'rt',
      m: {
        t: 'ra',
        id: 'west-1',
        mode: 'interior',
        seq: 7,
        boot: 1700000000000,
        links: [
          { neighbor: 'east-1', cost: 1 },
          { neighbor: 'north-1', cost: 5 },
        ],
        addresses: { db: 1, 'web.api': 2 },
        info: { site: 'west', version: '0.1.0', listeners: ['db'] },
        key: 'M2VxYW1wbGUta2V5LW9mLTMyLWJ5dGVzLWJhc2U2NHVybA',
        sig: 'c2lnbmF0dXJlLXN0YW5kLWluLWZvci10aGUtZnV6emVyLW9ubHktc3RydWN0dXJlLWlzLWNoZWNrZWQtaGVyZS0tLS0tLQ',
      },
    }),
  ].map((b) => Buffer.concat([Buffer.from([0]), b]));
}
