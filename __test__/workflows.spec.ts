/**
 * The GitHub workflows cannot run here. actionlint at least checks that they are valid: syntax,
 * expressions, runner labels, the inputs of known actions, and the shell of `run:` steps when shellcheck
 * is installed. Skipped, and said so, where actionlint is missing (`.ci/run` installs it when Go is
 * there). The build matrix is also checked against package.json's napi targets.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pkg, root, run } from './_package.ts';

const workflows = join(root, '.github', 'workflows');
const exe = process.platform === 'win32' ? '.exe' : '';

/** actionlint on the PATH, else where `go install` puts it; undefined when neither has it. */
function findActionlint(): string | undefined {
  if (spawnSync('actionlint', ['-version']).status === 0) return 'actionlint';
  const gopath =
    process.env.GOPATH?.split(process.platform === 'win32' ? ';' : ':')[0] || join(homedir(), 'go');
  const installed = join(gopath, 'bin', `actionlint${exe}`);
  return existsSync(installed) ? installed : undefined;
}

const actionlint = findActionlint();
if (!actionlint) {
  console.log(
    'workflows.spec: actionlint is not installed (go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12); the workflow lint is skipped',
  );
}

(actionlint ? test : test.skip)('actionlint finds nothing wrong in .github/workflows', async (t) => {
  const result = await run(actionlint!, ['-no-color'], { cwd: root, timeout: 60_000 }).then(
    () => '',
    (error: { stdout?: string; message: string }) => error.stdout || error.message,
  );
  t.is(result, '');
});

test('the CI build matrix covers every napi target, each with its platform package', (t) => {
  const ci = readFileSync(join(workflows, 'ci.yml'), 'utf8');
  const built = [...ci.matchAll(/^\s+target: (\S+)\n\s+triple: (\S+)$/gm)].map(([, target, triple]) => ({
    target,
    triple,
  }));
  t.deepEqual(built.map((b) => b.target).sort(), [...pkg.napi.targets].sort());
  for (const { triple } of built) t.true(existsSync(join(root, 'npm', triple!)), `npm/${triple}`);
});
