import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Config, Environ, EnvironError, environ } from '../src/config.ts';
import { CommaSeparatedStrings, Secret, URL } from '../src/datastructures.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-config-'));
const envFile = join(dir, '.env');
writeFileSync(
  envFile,
  [
    '# Do not commit to source control',
    'DATABASE_URL=postgres://user:pass@localhost/dbname',
    'REQUEST_HOSTNAME=example.com',
    'SECRET_KEY=12345',
    'BOOL_AS_INT=0',
    "QUOTED='quoted value'",
    'DOUBLE="double"',
    'ALLOWED=a, "b,c"',
    'NO_EQUALS_LINE',
    '  SPACED  =  value  ',
    '',
  ].join('\n'),
);

test('values come from the env file with casts and defaults', (t) => {
  const config = new Config(envFile, { environ: {} });
  t.is(config.get('REQUEST_HOSTNAME'), 'example.com');
  t.is(config.get('SPACED'), 'value');
  t.is(config.get('QUOTED'), 'quoted value');
  t.is(config.get('DOUBLE'), 'double');
  const url = config.get('DATABASE_URL', { cast: URL });
  t.true(url instanceof URL);
  t.is(url.password, 'pass');
  t.is(config.get('SECRET_KEY', { cast: Number }), 12345);
  t.false(config.get('BOOL_AS_INT', { cast: Boolean }));
  t.true(config.get('MISSING_BOOL', { cast: Boolean, default: true }));
  t.is(config.get('MISSING', { default: 'fallback' }), 'fallback');
  t.is(config.get('MISSING', { cast: Number, default: '12' }), 12);
  t.is(config.get('MISSING', { cast: Number, default: null }) as unknown, null);
  const secret = config.get('SECRET_KEY', { cast: Secret });
  t.is(String(secret), '12345');
  t.is(inspect(secret), "Secret('**********')");
  t.deepEqual([...config.get('ALLOWED', { cast: CommaSeparatedStrings })], ['a', 'b,c']);
  t.is(config.get('NO_EQUALS_LINE', { default: 'absent' }), 'absent');
});

test('a missing key without a default throws', (t) => {
  const config = new Config(null, { environ: {} });
  t.throws(() => config.get('NOPE'), { message: "Config 'NOPE' is missing, and has no default." });
  t.throws(() => config.get('NOPE', { default: undefined }), { message: /is missing/ });
});

test('Boolean casts accept true, false, 1 and 0 only', (t) => {
  const config = new Config(null, { environ: { A: 'TRUE', B: '1', C: 'False', D: 'maybe' } });
  t.true(config.get('A', { cast: Boolean }));
  t.true(config.get('B', { cast: Boolean }));
  t.false(config.get('C', { cast: Boolean }));
  t.throws(() => config.get('D', { cast: Boolean }), {
    message: "Config 'D' has value 'maybe'. Not a valid bool.",
  });
  t.false(config.get('E', { cast: Boolean, default: false }));
});

test('a failing cast names the key, the value and the cast', (t) => {
  const config = new Config(null, { environ: { N: 'abc' } });
  t.throws(() => config.get('N', { cast: Number }), {
    message: "Config 'N' has value 'abc'. Not a valid Number.",
  });
  const strict = (v: string) => {
    if (v !== 'ok') throw new TypeError('bad');
    return v;
  };
  t.throws(() => config.get('N', { cast: strict }), {
    message: "Config 'N' has value 'abc'. Not a valid strict.",
  });
  t.is(config.get('N', { cast: (v: string) => v.toUpperCase() }), 'ABC');
});

test('the environment wins over the env file, and a prefix is prepended', (t) => {
  const config = new Config(envFile, { environ: { REQUEST_HOSTNAME: 'from-env' } });
  t.is(config.get('REQUEST_HOSTNAME'), 'from-env');
  const prefixed = new Config(null, { environ: { APP_DEBUG: 'true' }, envPrefix: 'APP_' });
  t.true(prefixed.get('DEBUG', { cast: Boolean }));
});

test('a missing env file only warns', async (t) => {
  const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
  const config = new Config(join(dir, 'nope.env'), { environ: { X: '1' } });
  t.is(config.get('X'), '1');
  t.regex((await warned).message, /not found/);
});

test('Environ refuses changes to a key after it was read', (t) => {
  const env = new Environ({ A: '1' });
  env.set('B', '2');
  t.is(env.get('B'), '2');
  t.throws(() => env.set('B', '3'), { instanceOf: EnvironError, message: /already been read/ });
  t.throws(() => env.delete('B'), { instanceOf: EnvironError });
  env.delete('A');
  t.false(env.has('A'));
  t.deepEqual(env.keys(), ['B']);
  t.deepEqual([...env], ['B']);
  t.is(env.size, 1);
  const config = new Config(null, { environ: env });
  t.is(config.get('B'), '2');
});

test('the default environ wraps process.env', (t) => {
  process.env.STARLING_TEST_CONFIG = 'yes';
  t.is(new Config().get('STARLING_TEST_CONFIG'), 'yes');
  t.is(environ.get('STARLING_TEST_CONFIG'), 'yes');
  t.throws(() => environ.set('STARLING_TEST_CONFIG', 'no'), { instanceOf: EnvironError });
});
