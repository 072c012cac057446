/**
 * What an unauthenticated client sends the grant server (src/site/grants/server.ts): the request path, the JSON
 * body, and the certificate signing request in it, which is parsed and its signature checked
 * (src/site/certs/ca.ts readCsr). The first input byte picks the form: 0 the path and body as one request
 * (`<path>\n<body>`), 1 the CSR as text, 2 the CSR as DER (wrapped in PEM here, so mutations reach the ASN.1).
 */
import { CaravanError } from '../../../src/errors.js';
import { readCsr } from '../../../src/site/certs/ca.js';
import { createKeyAndCsr } from '../../../src/site/certs/index.js';
import { grantNameFromPath, normalizeSerial } from '../../../src/site/grants/logic.js';
import { expectTypedAsync, invariant } from '../harness.js';

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}-----END CERTIFICATE REQUEST-----\n`;
}

async function request(text: string): Promise<void> {
  const nl = text.indexOf('\n');
  const path = nl < 0 ? text : text.slice(0, nl);
  const name = grantNameFromPath(path.split('?')[0] as string);
  invariant(name === undefined || typeof name === 'string', 'grant name is not a string');
  let body: unknown;
  try {
    body = JSON.parse(nl < 0 ? '' : text.slice(nl + 1));
  } catch {
    return; // the server answers 400 "the request body is not JSON"
  }
  const b = body as { code?: unknown; csr?: unknown; serial?: unknown } | null;
  if (typeof b?.serial === 'string') normalizeSerial(b.serial);
  if (!b || typeof b.csr !== 'string') return; // 400 "a redemption needs {code, csr}"
  await readCsr(b.csr);
}

export async function fuzz(data: Buffer): Promise<void> {
  const mode = (data[0] ?? 0) % 3;
  const body = data.subarray(1);
  await expectTypedAsync([CaravanError], async () => {
    if (mode === 0) await request(body.toString('utf8'));
    else if (mode === 1) await readCsr(body.toString('utf8'));
    else {
      const r = await readCsr(pem(body));
      invariant(typeof r.commonName === 'string' && typeof r.subject === 'string', 'CSR without subject');
    }
  });
}

export async function seeds(): Promise<Buffer[]> {
  const { csrPem } = await createKeyAndCsr({ commonName: 'east' });
  const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const withMode = (m: number, b: Buffer | string): Buffer =>
    Buffer.concat([Buffer.from([m]), Buffer.from(b)]);
  return [
    withMode(0, `/v1/grants/g\n${JSON.stringify({ code: 'a'.repeat(32), csr: csrPem, link: 'to-west' })}`),
    withMode(0, `/v1/renew\n${JSON.stringify({ csr: csrPem, serial: '0A:1B' })}`),
    withMode(1, csrPem),
    withMode(2, der),
  ];
}
