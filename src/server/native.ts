/**
 * The only module that touches the native addon: finds the binary for this platform and types it.
 * `STARLING_NATIVE_PATH`, when set, is the only place looked at. Otherwise `starling.<triple>.node` at
 * the package root (a source checkout's build), then the platform package `@<name>/<triple>` (an
 * optional dependency, which npm installs where its `os`, `cpu` and `libc` fit).
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options the core takes (seconds and bytes). */
export interface NativeServerOptions {
  host?: string;
  port?: number;
  uds?: string;
  backlog?: number;
  reusePort?: boolean;
  timeoutKeepAlive?: number;
  timeoutHeaderRead?: number;
  maxHeaderSize?: number;
  maxHeaderCount?: number;
  maxBodySize?: number;
  limitConcurrency?: number;
  inlineBodyLimit?: number;
  accessLog?: boolean;
  logColors?: boolean;
  serverHeader?: string;
  wsMaxSize?: number;
  wsPingInterval?: number;
  wsPingTimeout?: number;
  wsPerMessageDeflate?: boolean;
  staticMounts?: { prefix: string; directories: string[]; followSymlink?: boolean; cacheControl?: string }[];
  mediaTypes?: string;
  memory?: boolean;
  sslCertFile?: string;
  sslKeyFile?: string;
}

/** Called on the JS thread once per batch of events (records declared in wire.ts). */
/** A batch of core events: the first `words` words of `meta` (an array the core reuses). */
export type NativeEventHandler = (
  meta: Uint32Array,
  strs: string,
  bin: Buffer | null,
  words: number,
  texts: Buffer | null,
) => void;

/** The calls `fastCalls()` makes cheaper (crates/node/src/fast_calls.rs). */
export type FastCall =
  'respondText' | 'respondBytes' | 'write' | 'writeText' | 'wsSendText' | 'wsSendBytes' | 'wsCredit';

/** The addon's server class. Every method is synchronous. */
export interface NativeServer {
  listen(): number;
  /** The per-request and per-message calls as functions bound to this server (after `listen`). */
  fastCalls(): Pick<NativeServer, FastCall>;
  /** `headers`: packed text, or the id of a list `registerHeaderList` filed. */
  respondText(id: number, status: number, headers: string | number | null, body: string): boolean;
  respondBytes(id: number, status: number, headers: string | number | null, body: Uint8Array): boolean;
  /** This server's answer queue (answers.ts; layout `AnswerQueue` in wire.ts), after `listen`. */
  answerQueue(): ArrayBuffer;
  /** The status's reason phrase as `text/plain; charset=utf-8`; the connection stays open. */
  respondStatus(id: number, status: number): boolean;
  sendFile(id: number, status: number, headers: string | null, path: string): boolean;
  start(id: number, status: number, headers: string | null): boolean;
  write(id: number, chunk: Uint8Array): number;
  writeText(id: number, chunk: string): number;
  end(id: number): boolean;
  readMore(id: number): boolean;
  abort(id: number): boolean;
  wsAccept(id: number, subprotocol: string | null, headers: string | null): boolean;
  wsSendText(id: number, text: string): number;
  wsSendBytes(id: number, data: Uint8Array): number;
  wsClose(id: number, code: number, reason: string | null): boolean;
  wsCredit(id: number, n: number): boolean;
  connectMemory(): number;
  memoryWrite(conn: number, data: Uint8Array): boolean;
  memoryEnd(conn: number): boolean;
  connections(): number;
  parked(): number;
  pending(): number;
  close(deadlineSeconds: number): void;
  dispose(): void;
}

interface Addon {
  NativeServer: new (options: NativeServerOptions, onEvents: NativeEventHandler) => NativeServer;
  /** Files a packed header list for this thread's answers: its id, or -1 when the table is full. */
  registerHeaderList(text: string): number;
}

/** `<platform>-<arch>[-<abi>]`, as napi-rs names its packages: `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`. */
export function platformTriple(): string {
  let abi = '';
  if (process.platform === 'linux') {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    abi = report?.header?.glibcVersionRuntime ? '-gnu' : '-musl';
  } else if (process.platform === 'win32') abi = '-msvc';
  return `${process.platform}-${process.arch}${abi}`;
}

let addon: Addon | undefined;

/** What loading reads from the package's own package.json. */
export interface Manifest {
  name: string;
  version: string;
  optionalDependencies?: Record<string, string>;
}

/** The last sentence of every loading error: the way that needs no prebuilt binary. */
const buildHint = (triple: string) =>
  'Or build it from source (needs Rust, https://rustup.rs): clone the Starling repository, run ' +
  `\`npm install\` there, and set STARLING_NATIVE_PATH to the starling.${triple}.node it writes ` +
  '(README, "Building from source").';

/** The addon file this process should load, and how to name it in an error; throws when there is none. */
export function locate(root: string, manifest: Manifest, triple: string): { path: string; what: string } {
  const { name, version, optionalDependencies = {} } = manifest;
  const explicit = process.env.STARLING_NATIVE_PATH;
  if (explicit) {
    if (existsSync(explicit))
      return { path: resolve(explicit), what: `at STARLING_NATIVE_PATH (${explicit})` };
    throw new Error(`${name}: STARLING_NATIVE_PATH is ${explicit}, which does not exist.`);
  }
  const local = join(root, `starling.${triple}.node`);
  if (existsSync(local)) return { path: local, what: local };
  const platformPackage = `@${name}/${triple}`;
  try {
    return { path: createRequire(import.meta.url).resolve(platformPackage), what: `of ${platformPackage}` };
  } catch {
    const prebuilt = Object.keys(optionalDependencies)
      .filter((dep) => dep.startsWith(`@${name}/`))
      .map((dep) => dep.slice(name.length + 2));
    const missing = prebuilt.includes(triple)
      ? `the native addon for ${triple} is not installed. It comes in the optional dependency ` +
        `${platformPackage}, which npm leaves out under --omit=optional or with a lockfile that lacks it: ` +
        `run \`npm install ${platformPackage}@${version}\`.`
      : `there is no prebuilt native addon for ${triple} (there is for ${prebuilt.join(', ')}).`;
    throw new Error(`${name}: ${missing} ${buildHint(triple)}`);
  }
}

/** Loads the addon once; when it cannot, throws one error saying what is missing and how to get it. */
export function loadAddon(): Addon {
  if (addon) return addon;
  // This file is src/server/native.ts or dist/server/native.js: the package root is two levels up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
  const triple = platformTriple();
  const { path, what } = locate(root, manifest, triple);
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
    return addon;
  } catch (error) {
    // The loader's own words (dlopen's, for a binary of another platform or libc) as the reason only.
    const reason = (error as Error).message.split('\n')[0]!.trim();
    throw new Error(
      `${manifest.name}: the native addon ${what} does not load on ${triple} (${reason}). ${buildHint(triple)}`,
      { cause: error },
    );
  }
}
