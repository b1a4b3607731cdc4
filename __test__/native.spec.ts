/**
 * The addon loader (src/server/native.ts): when no addon loads, one error says what is missing and how
 * to get one, never the bare words of dlopen. (Without the platform package, in a project that installed
 * the tarball: package.spec.ts.)
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon, locate } from '../src/server/native.ts';

const { name } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
};
const dir = mkdtempSync(join(tmpdir(), 'starling-native-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `loadAddon()` with STARLING_NATIVE_PATH set to `path`, and returns what it threw. */
function loadFrom(path: string): Error | undefined {
  // The suite may run with STARLING_NATIVE_PATH set (an instrumented addon): it is put back after.
  const outer = process.env.STARLING_NATIVE_PATH;
  process.env.STARLING_NATIVE_PATH = path;
  try {
    loadAddon();
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    if (outer === undefined) delete process.env.STARLING_NATIVE_PATH;
    else process.env.STARLING_NATIVE_PATH = outer;
  }
}

// Serial, and before any test loads the addon: the loader keeps the first addon that loads.
test.serial('STARLING_NATIVE_PATH naming no file says so', (t) => {
  const missing = join(dir, 'missing.node');
  t.is(loadFrom(missing)?.message, `${name}: STARLING_NATIVE_PATH is ${missing}, which does not exist.`);
});

test.serial('a file that is not an addon is named, with the reason and how to build one from source', (t) => {
  const garbage = join(dir, 'garbage.node');
  writeFileSync(garbage, 'not a shared library');
  const error = loadFrom(garbage);
  t.regex(
    error?.message ?? '',
    new RegExp(
      `^${name}: the native addon at STARLING_NATIVE_PATH \\(.+garbage\\.node\\) does not load on \\S+ \\(.+\\)\\. Or build it from source \\(needs Rust`,
    ),
  );
  t.notRegex(error?.message ?? '', /\n/, 'one line');
  t.truthy(error?.cause, "the loader's own error stays reachable as the cause");
});

test.serial('otherwise the addon loads, and is loaded once', (t) => {
  const addon = loadAddon();
  t.is(typeof addon.NativeServer, 'function');
  t.is(loadAddon(), addon);
});

test('a platform no prebuilt addon exists for is named, with the ones that exist and the way from source', (t) => {
  const outer = process.env.STARLING_NATIVE_PATH;
  delete process.env.STARLING_NATIVE_PATH;
  try {
    const manifest = {
      name,
      version: '0.1.0',
      optionalDependencies: { [`@${name}/linux-x64-gnu`]: '0.1.0', [`@${name}/darwin-arm64`]: '0.1.0' },
    };
    const error = t.throws(() => locate(dir, manifest, 'plan9-mips'));
    t.true(
      error.message.startsWith(
        `${name}: there is no prebuilt native addon for plan9-mips (there is for linux-x64-gnu, darwin-arm64). ` +
          'Or build it from source (needs Rust, https://rustup.rs)',
      ),
      error.message,
    );
    t.true(error.message.includes('STARLING_NATIVE_PATH to the starling.plan9-mips.node'), error.message);
  } finally {
    if (outer !== undefined) process.env.STARLING_NATIVE_PATH = outer;
  }
});
