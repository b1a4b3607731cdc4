/**
 * The demo in a real browser: `examples/demo.ts` (what `npm start` runs) as a child process on
 * 127.0.0.1 and a free port, driven by headless Chromium (Debian's `chromium`, through playwright-core,
 * which downloads no browser). A machine without Chromium skips this file and says so in one line.
 * `npm run screenshot` (STARLING_DEMO_SCREENSHOT=docs/demo.png) also writes the README's screenshot.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const executablePath = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
].find((path) => path !== undefined && path !== '' && existsSync(path));
if (executablePath === undefined)
  console.log('demo-browser.spec: Chromium is not installed (apt-get install chromium); skipped');
const browserTest = executablePath === undefined ? test.skip : test;

let demo: ChildProcess | undefined;
let browser: Browser | undefined;
let shots: string | undefined;

/** Runs the demo as `npm start` does, on a free port; resolves with its URL. */
function startDemo(): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: '0' };
  delete env.BROADCAST_URL;
  delete env.DEMO_DATABASE_URL;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), 'examples/demo.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  demo = child;
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`the demo did not start in 20 s:\n${log}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += String(chunk);
      const url = /Starling demo on (http:\/\/\S+)/.exec(log)?.[1];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${log}`));
    });
  });
}

test.after.always(async () => {
  await browser?.close();
  if (demo !== undefined && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo!.once('exit', resolve));
    demo.kill('SIGTERM');
    const timer = setTimeout(() => demo!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (shots !== undefined) rmSync(shots, { recursive: true, force: true });
});

/** A page in a context of its own (its own cookies), failing the test on any script error. */
async function openPage(errors: string[]): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => errors.push(error.message));
  return page;
}

browserTest('in Chromium: the home page, a login, and a chat between two pages', async (t) => {
  t.timeout(90_000);
  const [url, launched] = await Promise.all([
    startDemo(),
    chromium.launch({ executablePath, headless: true, timeout: 30_000 }),
  ]);
  browser = launched;
  const errors: string[] = [];

  // The home page: a template, its stylesheet served (and compressed) by the core, notes from SQLite.
  const member = await openPage(errors);
  const css = member.waitForResponse((res) => new URL(res.url()).pathname === '/static/demo.css');
  await member.goto(url);
  t.is((await css).headers()['content-encoding'], 'br');
  t.is(await member.title(), 'Starling demo');
  t.true((await member.locator('#notes li').count()) >= 3);
  // (A string, evaluated in the page: the tests' TypeScript has no DOM types.)
  const header = await member.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor");
  t.is(header, 'rgb(29, 35, 48)');

  // The account page asks for a login, which comes back to it.
  await member.goto(`${url}/account`);
  t.is(new URL(member.url()).pathname, '/login');
  await member.fill('input[name=username]', 'demo');
  await member.fill('input[name=password]', 'starling');
  await member.click('form.stack button');
  await member.waitForURL(`${url}/account`);
  t.is(await member.textContent('#username'), 'demo');
  await member.fill('input[name=text]', 'Written in Chromium');
  await member.click('form.inline button');
  await member.locator('#notes li', { hasText: 'Written in Chromium' }).waitFor();

  // Two pages of the chat, one signed in and one a guest (another context: no session cookie).
  const guest = await openPage(errors);
  await Promise.all([member.goto(`${url}/chat`), guest.goto(`${url}/chat`)]);
  for (const page of [member, guest]) await page.locator('#status', { hasText: 'connected' }).waitFor();
  await member.fill('#text', 'Hello from the demo user');
  await member.press('#text', 'Enter');
  const received = guest.locator('#messages li', { hasText: 'Hello from the demo user' });
  await received.waitFor();
  t.is(await received.locator('.from').textContent(), 'demo');
  await guest.fill('#text', 'Hello back');
  await guest.press('#text', 'Enter');
  const reply = member.locator('#messages li', { hasText: 'Hello back' });
  await reply.waitFor();
  t.regex((await reply.locator('.from').textContent()) ?? '', /^guest-\d+$/);

  // The screenshot: the home page as the signed-in user sees it.
  await member.goto(url);
  shots = mkdtempSync(join(tmpdir(), 'starling-demo-'));
  const shot = join(shots, 'demo.png');
  await member.screenshot({ path: shot, fullPage: true });
  t.deepEqual([...readFileSync(shot).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const keep = process.env.STARLING_DEMO_SCREENSHOT;
  if (keep) copyFileSync(shot, resolve(ROOT, keep));
  t.deepEqual(errors, []);
});
