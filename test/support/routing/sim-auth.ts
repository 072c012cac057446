// A stand-in for the Ed25519 authenticator (src/identity.ts), for the simulator, the routing benchmark and unit
// tests of the engine: cheap and deterministic. Its "signatures" are a keyed FNV-1a hash that anyone can compute,
// so it proves only that the engine signs, checks and drops what does not check; real routers never use it.

import type { AdAuthenticator, RouterId } from '../../../src/routing/types.js';

function fnv1a64(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c ^ (h1 >>> 7), 0x01000193) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** The simulated key of router `id`. */
export function simulationKey(id: RouterId): string {
  return `sim-${id}`;
}

function simSign(key: string, data: Uint8Array): string {
  return fnv1a64(key + '\n' + Buffer.from(data).toString('latin1'));
}

export function simulationAuthenticator(id: RouterId): AdAuthenticator {
  const key = simulationKey(id);
  return {
    key,
    sign: (data) => simSign(key, data),
    verify: (rid, k, data, signature) => k === simulationKey(rid) && simSign(k, data) === signature,
  };
}
