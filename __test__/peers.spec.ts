/** Optional peers (src/_peers.ts): only the package itself missing becomes the error that names it. */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPeer, isMissingModule, missingPeerError, requirePeer } from '../src/_peers.ts';

const missing = Object.assign(new Error("Cannot find module 'pg' imported from /app"), {
  code: 'ERR_MODULE_NOT_FOUND',
});

test('a missing module is told apart from a module missing one of its own imports', (t) => {
  const cjsMissing = Object.assign(new Error("Cannot find module 'better-sqlite3'"), {
    code: 'MODULE_NOT_FOUND',
  });
  const itsOwnDependency = Object.assign(new Error("Cannot find package 'pg-types'"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
  t.true(isMissingModule(missing, 'pg'));
  t.true(isMissingModule(cjsMissing, 'better-sqlite3'));
  t.false(isMissingModule(itsOwnDependency, 'pg'));
  t.false(isMissingModule(new Error("'pg'"), 'pg'));
  t.false(isMissingModule(undefined, 'pg'));
});

test('importPeer names the package to install, and passes any other failure on', async (t) => {
  const error = await t.throwsAsync(importPeer('pg', 'starlingjs/database', () => Promise.reject(missing)));
  t.is(
    error.message,
    "starlingjs/database needs the 'pg' package, which is not installed. Install it with: npm install pg",
  );
  t.is((error as Error & { code?: string }).code, 'ERR_STARLING_PEER_MISSING');
  t.is(error.cause, missing);
  const abi = new Error('The module was compiled against a different Node.js version');
  t.is(await t.throwsAsync(importPeer('better-sqlite3', 'x', () => Promise.reject(abi))), abi);
  t.is(await importPeer('pg', 'x', async () => 'module'), 'module');
});

test('requirePeer does the same for a synchronous load', (t) => {
  const error = t.throws(() => requirePeer('starling-no-such-peer', 'starlingjs/templating'));
  t.is(error.message, missingPeerError('starling-no-such-peer', 'starlingjs/templating').message);
  t.is((error as Error & { code?: string }).code, 'ERR_STARLING_PEER_MISSING');

  // Installed but broken: its own error comes through, not "not installed".
  const dir = mkdtempSync(join(tmpdir(), 'starling-peer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broken = join(dir, 'broken.cjs');
  writeFileSync(broken, "require('starling-its-own-missing-dependency');\n");
  const own = t.throws(() => requirePeer(broken, 'starlingjs/graphql'));
  t.regex(own.message, /starling-its-own-missing-dependency/);
  t.is((own as Error & { code?: string }).code, 'MODULE_NOT_FOUND');

  t.is(requirePeer<typeof import('node:path')>('node:path', 'x').join('a', 'b'), join('a', 'b'));
});
