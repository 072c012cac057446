/**
 * Error answers of the APIs: a CaravanError (meant for users) is answered with its code and message; any other
 * error is answered as CARAVAN_INTERNAL with a log id, and its text (which may hold paths or internals) is only in
 * the log. Proven on the real admin API over its Unix socket.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AdminServer, type AdminHandlers } from '../../src/admin/server.js';
import { CaravanError, ErrorCodes } from '../../src/errors.js';
import { memoryLogger } from '../../src/observe/log.js';
import { publicError } from '../../src/observe/public-error.js';

function get(socketPath: string, path: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('publicError: user errors pass, internal ones become a log id (also CaravanErrors, when told)', () => {
  const log = memoryLogger();
  assert.deepEqual(publicError(new CaravanError(ErrorCodes.LINK_NOT_FOUND, 'no link x'), log), {
    code: ErrorCodes.LINK_NOT_FOUND,
    message: 'no link x',
  });
  assert.equal(log.lines.length, 0, 'a user error is not logged as a failure');
  const internal = publicError(new Error('EACCES /secret/path'), log, { url: '/v1/x' }, { where: 'here' });
  assert.equal(internal.code, ErrorCodes.INTERNAL);
  assert.match(internal.message, /^internal error \(log id [0-9a-f]{12} here\)$/);
  assert.doesNotMatch(internal.message, /secret/);
  assert.equal(log.lines.length, 1);
  assert.match(log.lines[0] as string, new RegExp(`logId=${internal.logId}`));
  assert.match(log.lines[0] as string, /EACCES \/secret\/path/);
  const strict = publicError(
    new CaravanError(ErrorCodes.CONFIG_IO, 'cannot write /secret/file'),
    log,
    {},
    {
      exposeCaravanErrors: false,
    },
  );
  assert.equal(strict.code, ErrorCodes.INTERNAL);
  assert.doesNotMatch(strict.message, /secret/);
});

test('the admin API never answers internal error text', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-admin-err-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, 'admin.sock');
  const log = memoryLogger();
  const handlers: AdminHandlers = {
    status: () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secretField')");
    },
    reload: () => Promise.reject(new Error('ENOENT: /very/internal/path')),
    network: () => Promise.reject(new CaravanError(ErrorCodes.SITE_NOT_RUNNING, 'the router is stopping')),
  };
  const admin = new AdminServer(socket, handlers, log);
  await admin.start();
  t.after(() => admin.stop());

  const status = await get(socket, '/v1/status');
  assert.equal(status.status, 500);
  const se = (status.body as { error: { code: string; message: string } }).error;
  assert.equal(se.code, ErrorCodes.INTERNAL);
  assert.doesNotMatch(se.message, /secretField/);
  const reload = await get(socket, '/v1/reload', 'POST');
  assert.equal(reload.status, 500);
  assert.doesNotMatch(JSON.stringify(reload.body), /internal\/path/);
  const logId = /log id ([0-9a-f]+)/.exec(JSON.stringify(reload.body))?.[1];
  assert.ok(logId, 'the answer carries a log id');
  assert.ok(
    log.lines.some((l) => l.includes(`logId=${logId}`) && l.includes('/very/internal/path')),
    'the details are in the log under that id',
  );
  const network = await get(socket, '/v1/network');
  assert.deepEqual((network.body as { error: unknown }).error, {
    code: ErrorCodes.SITE_NOT_RUNNING,
    message: 'the router is stopping',
  });
  const none = await get(socket, '/v1/nothing');
  assert.equal(none.status, 404);
  assert.equal((none.body as { error: { code: string } }).error.code, ErrorCodes.NOT_FOUND);
});
