/**
 * The only module that touches the native addon: finds the binary for this platform and types it.
 * Order: `STARLING_NATIVE_PATH`, then `starling.<triple>.node` at the package root (a source build),
 * then the `starling-<triple>` platform package.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
export type NativeEventHandler = (meta: Uint32Array, strs: string, bin: Buffer | null) => void;

/** The addon's server class. Every method is synchronous. */
export interface NativeServer {
  listen(): number;
  respondText(id: number, status: number, headers: string | null, body: string): boolean;
  respondBytes(id: number, status: number, headers: string | null, body: Uint8Array): boolean;
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
  pending(): number;
  close(deadlineSeconds: number): void;
  dispose(): void;
}

interface Addon {
  NativeServer: new (options: NativeServerOptions, onEvents: NativeEventHandler) => NativeServer;
}

function platformTriple(): string {
  let abi = '';
  if (process.platform === 'linux') {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    abi = report?.header?.glibcVersionRuntime ? '-gnu' : '-musl';
  } else if (process.platform === 'win32') abi = '-msvc';
  return `${process.platform}-${process.arch}${abi}`;
}

let addon: Addon | undefined;

/** Loads the addon once; throws a clear error naming what was tried. */
export function loadAddon(): Addon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const triple = platformTriple();
  // This file is src/server/native.ts or dist/server/native.js: the package root is two levels up.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidates = [process.env.STARLING_NATIVE_PATH, join(root, `starling.${triple}.node`)].filter(
    (p): p is string => !!p && existsSync(p),
  );
  const errors: string[] = [];
  for (const path of [...candidates, `starling-${triple}`]) {
    try {
      addon = require(path) as Addon;
      return addon;
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `starling: no native addon for ${triple}. Run \`npm run build:native\` (needs Rust) or install ` +
      `starling-${triple}.\n${errors.join('\n')}`,
  );
}
