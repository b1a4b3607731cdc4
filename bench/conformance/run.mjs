// RFC 6455 conformance: Autobahn|Testsuite's fuzzing client (`wstest -m fuzzingclient`) against a Starling
// echo server (bench/servers/ws-starling.mjs). wstest 0.8.2 is Python 2.7 only: it is installed on first
// use into bench/out/wstest-py2 from PyPI with pinned versions (constraints-py2.txt).
// Usage: node bench/conformance/run.mjs [--cases 1-10|all|1.*,5.*] [--python /path/to/python2.7]
//   --cases 1-10 (default) runs framing, pings, reserved bits, opcodes, fragmentation, UTF-8, close
//   handling, limits/performance and auto-fragmentation; `all` adds 12.* and 13.* (permessage-deflate).
// Exits 1 when a case is NON-STRICT, FAILED or UNIMPLEMENTED: only OK counts (INFORMATIONAL cases are
// the RFC leaving the outcome open and are listed, not counted as failures).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readyPort } from '../ready.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'bench', 'out');
const site = join(out, 'wstest-py2');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const core = ['1.*', '2.*', '3.*', '4.*', '5.*', '6.*', '7.*', '9.*', '10.*'];
const casesArg = arg('cases', '1-10');
const cases =
  casesArg === '1-10' ? core : casesArg === 'all' ? [...core, '12.*', '13.*'] : casesArg.split(',');

function findPython2() {
  const given = arg('python', process.env.PYTHON2);
  const candidates = [given, 'python2.7', `${process.env.HOME}/.pyenv/versions/2.7.18/bin/python2.7`];
  for (const c of candidates.filter(Boolean)) {
    try {
      execFileSync(c, ['-c', 'import sys; assert sys.version_info[:2] == (2, 7)'], { stdio: 'ignore' });
      return c;
    } catch {
      // try the next
    }
  }
  throw new Error('Python 2.7 is needed for wstest (pyenv install 2.7.18, or pass --python)');
}

const python = findPython2();
if (!existsSync(join(site, 'autobahntestsuite'))) {
  console.error(`installing Autobahn|Testsuite 0.8.2 into ${site} ...`);
  execFileSync(
    python,
    [
      '-m',
      'pip',
      'install',
      '-q',
      '--target',
      site,
      '-c',
      join(here, 'constraints-py2.txt'),
      'autobahntestsuite',
    ],
    { stdio: 'inherit' },
  );
}

// The Starling echo server, as a user would write it; 64 MiB messages so the 16 MiB cases of 9.* fit.
const server = spawn('node', [join(root, 'bench/servers/ws-starling.mjs')], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, PORT: '0', WS_MAX_SIZE: String(64 * 1024 * 1024), WS_DEFLATE: '1' },
});
const port = await readyPort(server, 'echo server');

const reports = join(out, 'autobahn');
mkdirSync(reports, { recursive: true });
const spec = join(reports, 'fuzzingclient.json');
writeFileSync(
  spec,
  JSON.stringify({
    outdir: reports,
    servers: [{ agent: 'starling', url: `ws://127.0.0.1:${port}/echo` }],
    cases,
    'exclude-cases': [],
    'exclude-agent-cases': {},
  }),
);
const started = Date.now();
try {
  // site.addsitedir processes the .pth files of namespace packages (zope) that --target leaves behind.
  execFileSync(
    python,
    [
      '-W',
      'ignore',
      '-c',
      `import site, sys; site.addsitedir(${JSON.stringify(site)}); sys.argv[0] = 'wstest'; ` +
        'from autobahntestsuite.wstest import run; run()',
      '-m',
      'fuzzingclient',
      '-s',
      spec,
    ],
    { cwd: reports, stdio: ['ignore', 'ignore', 'inherit'] },
  );
} finally {
  server.kill('SIGTERM');
}

const results = JSON.parse(readFileSync(join(reports, 'index.json'), 'utf8')).starling;
const byId = (a, b) => {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};
const ids = Object.keys(results).sort(byId);
// Counted strictly: a case is OK only when both its behaviour and its close behaviour are OK; else it
// takes the worse of the two (INFORMATIONAL is the RFC leaving the outcome open, never a pass).
const rank = ['OK', 'INFORMATIONAL', 'NON-STRICT'];
const verdict = (r) => {
  const worst = [r.behavior, r.behaviorClose].map((b) => (rank.includes(b) ? rank.indexOf(b) : rank.length));
  return rank[Math.max(...worst)] ?? 'FAILED';
};
const kinds = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'FAILED'];
const tally = (list) => {
  const count = Object.fromEntries(kinds.map((k) => [k, 0]));
  for (const id of list) count[verdict(results[id])]++;
  return kinds.map((k) => `${k} ${count[k]}`).join(', ');
};
const failed = ids.filter((id) => !['OK', 'INFORMATIONAL'].includes(verdict(results[id])));
console.log(
  `Autobahn|Testsuite fuzzingclient, cases ${cases.join(' ')}, counted strictly: ${tally(ids)} ` +
    `(${ids.length} cases, ${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
for (const section of [...new Set(ids.map((id) => id.split('.')[0]))]) {
  console.log(`  section ${section}: ${tally(ids.filter((id) => id.split('.')[0] === section))}`);
}
for (const id of ids.filter((i) => results[i].behavior !== 'OK' || results[i].behaviorClose !== 'OK')) {
  const r = results[id];
  const detail = JSON.parse(readFileSync(join(reports, r.reportfile), 'utf8'));
  console.log(
    `  ${id} ${r.behavior}/${r.behaviorClose} close=${r.remoteCloseCode}: ${detail.description.replace(/\s+/g, ' ')} ` +
      `| expected: ${detail.expectation.replace(/\s+/g, ' ')} | result: ${detail.result.replace(/\s+/g, ' ')}`,
  );
}
console.log(`HTML report: ${join(reports, 'index.html')}`);
process.exit(failed.length ? 1 : 0);
