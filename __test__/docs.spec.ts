// Runs every ```ts block of docs/*.md, so the documentation cannot drift from the code.
// A block is written to a temporary module with `from 'starlingjs'` pointed at src/index.ts, then imported
// in-process (ava loads tsx; `.mts` makes it an ES module wherever the temp dir is). Blocks marked
// ```ts no-run (servers that would listen forever, fragments) are not run. Every block is also
// type-checked with the project's strict tsconfig, except those marked ```ts no-check.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = new URL('../', import.meta.url);
const docsDir = fileURLToPath(new URL('docs/', root));
/** `src/<module>.ts`, or the folder's `src/<module>/index.ts`. */
const srcUrl = (module: string) => {
  const file = new URL(`src/${module}.ts`, root);
  return (existsSync(file) ? file : new URL(`src/${module}/index.ts`, root)).href;
};

interface Block {
  page: string;
  line: number;
  info: string[];
  code: string;
}

/** The fenced blocks of a Markdown file whose info string starts with `ts`. */
function extractBlocks(page: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    if (open[1] === 'ts' || open[1] === 'typescript') {
      blocks.push({
        page,
        line: start + 1,
        info: open[2]!.split(/\s+/).filter(Boolean),
        code: body.join('\n'),
      });
    }
  }
  return blocks;
}

/** Points `'starlingjs'` and `'starlingjs/<subpath>'` at the sources. */
function rewriteImports(code: string): string {
  return code.replace(
    /(from\s+|import\s*\(\s*)(['"])starlingjs(?:\/([a-z]+))?\2/g,
    (_m, lead: string, quote: string, sub: string | undefined) =>
      `${lead}${quote}${srcUrl(sub ?? 'index')}${quote}`,
  );
}

const pages = readdirSync(docsDir)
  .filter((name) => name.endsWith('.md'))
  .sort();
const blocks = pages.flatMap((name) => extractBlocks(name, readFileSync(join(docsDir, name), 'utf8')));
const tmp = mkdtempSync(join(tmpdir(), 'starling-docs-'));
// Bare imports of the blocks (optional peers such as `graphql`) resolve from the project's
// node_modules, as in a real project.
symlinkSync(fileURLToPath(new URL('node_modules', root)), join(tmp, 'node_modules'), 'junction');
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

test('every docs page has at least one block that runs', (t) => {
  const runnable = new Set(blocks.filter((b) => !b.info.includes('no-run')).map((b) => b.page));
  t.deepEqual(
    pages.filter((page) => !runnable.has(page)),
    [],
  );
});

test('every block type-checks under the strict tsconfig', (t) => {
  const dir = join(tmp, 'typecheck');
  mkdirSync(dir, { recursive: true });
  for (const block of blocks) {
    if (block.info.includes('no-check')) continue;
    const name = `${block.page.replace(/\.md$/, '')}-${block.line}.mts`;
    // `export {}` keeps each block a module of its own, so names do not clash across blocks.
    writeFileSync(join(dir, name), `${block.code}\nexport {};\n`);
  }
  const src = fileURLToPath(new URL('src/', root));
  const tsconfig = {
    extends: fileURLToPath(new URL('tsconfig.json', root)),
    compilerOptions: {
      paths: {
        starlingjs: [join(src, 'index.ts')],
        'starlingjs/*': [join(src, '*.ts'), join(src, '*', 'index.ts')],
      },
    },
    include: ['*.mts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  // Other bare imports (ava, @types/node) resolve from the project's node_modules, as in a real project.
  symlinkSync(fileURLToPath(new URL('node_modules', root)), join(dir, 'node_modules'), 'junction');
  const tsc = fileURLToPath(new URL('node_modules/typescript/bin/tsc', root));
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
  // Report errors against the Markdown file, not the temp copy.
  const errors = result.stdout.replace(
    /^(\S+?)-(\d+)\.mts\((\d+),/gm,
    (_m, page: string, line: string, row: string) => `docs/${page}.md:${Number(line) + Number(row)}(`,
  );
  t.is(result.status, 0, errors);
});

for (const block of blocks) {
  const title = `docs/${block.page}:${block.line}`;
  if (block.info.includes('no-run')) continue;
  // Serial: some blocks touch process-wide things (the environment, registered convertors).
  test.serial(title, async (t) => {
    const file = join(tmp, `${block.page.replace(/\.md$/, '')}-${block.line}.mts`);
    writeFileSync(file, `// ${title}\n${rewriteImports(block.code)}\n`);
    await import(pathToFileURL(file).href);
    t.pass();
  });
}
