/**
 * Serves the files of one or more directories, safely, with validators, ranges and precompressed variants.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Receive, Scope, Send } from './asgi.ts';
import { getRoutePath, guessMediaType } from './_utils.ts';
import { HTTPException } from './exceptions.ts';
import { FileResponse, PlainTextResponse } from './responses.ts';
import { formatURL, requestHeader, scopeURL, sendRedirect } from './middleware/_helpers.ts';

export interface StaticFilesOptions {
  /** The directory to serve. */
  directory?: string;
  /** npm packages whose `statics` folder (or `[package, folder]`) is served after `directory`. */
  packages?: readonly (string | readonly [string, string])[];
  /** HTML mode: `index.html` for directories (with a trailing-slash redirect), `404.html` for misses. */
  html?: boolean;
  /** Throw at construction when `directory` does not exist (default `true`). */
  checkDir?: boolean;
  /** Serve symlinks that point outside the directories (default `false`: such files are 404). */
  followSymlink?: boolean;
  /** A `Cache-Control` value for every file served, e.g. `'public, max-age=31536000, immutable'`. */
  cacheControl?: string;
}

/** Precompressed siblings looked for, best first, with the `Content-Encoding` each stands for. */
const VARIANTS: readonly [suffix: string, encoding: string][] = [
  ['.br', 'br'],
  ['.gz', 'gzip'],
];

type Found = { path: string; stats: Stats };

/**
 * An ASGI app serving files. GET and HEAD only (405 otherwise); a path that escapes the directory,
 * through `..` or a symlink, is a 404. ETag/Last-Modified, 304s and ranges come from `FileResponse`.
 * When the client accepts it and `file.br` or `file.gz` exists beside `file`, that is sent instead.
 *
 * @example
 * ```ts
 * new Starling({
 *   routes: [new Mount('/static', { app: new StaticFiles({ directory: 'static' }), name: 'static' })],
 * });
 * ```
 */
export class StaticFiles {
  readonly directory: string | undefined;
  readonly allDirectories: string[];
  readonly html: boolean;
  readonly followSymlink: boolean;
  readonly cacheControl: string | undefined;
  #configChecked = false;
  #roots: Promise<string[]> | undefined;

  constructor(options: StaticFilesOptions = {}) {
    this.directory = options.directory;
    this.allDirectories = [
      ...(options.directory === undefined ? [] : [options.directory]),
      ...packageDirectories(options.packages ?? []),
    ];
    this.html = options.html ?? false;
    this.followSymlink = options.followSymlink ?? false;
    this.cacheControl = options.cacheControl;
    if ((options.checkDir ?? true) && this.directory !== undefined && !isDirectory(this.directory)) {
      throw new Error(`Directory '${this.directory}' does not exist`);
    }
  }

  async asgi(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type !== 'http') {
      if (scope.type === 'websocket') await send({ type: 'websocket.close', code: 1000 });
      return;
    }
    this.#checkConfig();
    if (scope.method !== 'GET' && scope.method !== 'HEAD') return fail(scope, receive, send, 405);

    const routePath = getRoutePath(scope);
    const found = await this.lookup(routePath);
    if (found?.stats.isFile()) return this.#serve(scope, receive, send, found);
    if (found?.stats.isDirectory() && this.html) {
      const index = await this.lookup(join(routePath, 'index.html'));
      if (index?.stats.isFile()) {
        // Relative links in the page resolve against the directory only with a trailing slash.
        if (!scope.path.endsWith('/')) {
          const url = scopeURL(scope);
          return sendRedirect(scope, send, formatURL({ ...url, path: url.path + '/' }));
        }
        return this.#serve(scope, receive, send, index);
      }
    }
    if (this.html) {
      const page = await this.lookup('404.html');
      if (page?.stats.isFile()) return this.#serve(scope, receive, send, page, 404);
    }
    return fail(scope, receive, send, 404);
  }

  /**
   * Finds `path` (relative to the served directories, `/`-separated) in the first directory that has
   * it, refusing anything that resolves outside that directory. `null` when there is no such file.
   */
  async lookup(path: string): Promise<Found | null> {
    if (path.includes('\0')) return null;
    const segments = path.split(/[/\\]/).filter((s) => s !== '' && s !== '.');
    const roots = await (this.#roots ??= Promise.all(
      this.allDirectories.map((d) => realpath(d).catch(() => resolve(d))),
    ));
    for (const root of roots) {
      const candidate = join(root, ...segments);
      try {
        const full = this.followSymlink ? resolve(candidate) : await realpath(candidate);
        const rel = relative(root, full);
        if (rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) continue;
        return { path: full, stats: await stat(full) };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') continue;
        if (code === 'EACCES' || code === 'EPERM') throw new HTTPException(401);
        throw error;
      }
    }
    return null;
  }

  async #serve(scope: Scope, receive: Receive, send: Send, found: Found, status = 200): Promise<void> {
    const headers: Record<string, string> = {};
    if (this.cacheControl !== undefined) headers['cache-control'] = this.cacheControl;
    const mediaType = guessMediaType(found.path) ?? 'application/octet-stream';
    let file = found;
    const accepted = acceptedEncodings(scope);
    for (const [suffix, encoding] of VARIANTS) {
      const variant = await statFile(found.path + suffix);
      if (variant === null) continue;
      // Caches must keep one copy per encoding as soon as any variant exists.
      headers.vary = 'Accept-Encoding';
      if (file === found && accepted.has(encoding)) {
        file = variant;
        headers['content-encoding'] = encoding;
      }
    }
    const response = new FileResponse(file.path, { status, headers, mediaType, stat: file.stats });
    return response.asgi(scope, receive, send);
  }

  #checkConfig(): void {
    if (this.#configChecked || this.directory === undefined) return;
    let stats: Stats;
    try {
      stats = statSync(this.directory);
    } catch {
      throw new Error(`StaticFiles directory '${this.directory}' does not exist.`);
    }
    if (!stats.isDirectory()) throw new Error(`StaticFiles path '${this.directory}' is not a directory.`);
    this.#configChecked = true;
  }
}

/** Inside an app the error goes to its exception handlers; standalone, it is answered here. */
async function fail(scope: Scope, receive: Receive, send: Send, status: 404 | 405): Promise<void> {
  if ('app' in scope) throw new HTTPException(status);
  await new PlainTextResponse(status === 404 ? 'Not Found' : 'Method Not Allowed', { status }).asgi(
    scope,
    receive,
    send,
  );
}

async function statFile(path: string): Promise<Found | null> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? { path, stats } : null;
  } catch {
    return null;
  }
}

/** Content codings the client accepts with a non-zero quality. */
function acceptedEncodings(scope: Scope): Set<string> {
  const accepted = new Set<string>();
  for (const item of (requestHeader(scope, 'accept-encoding') ?? '').split(',')) {
    const [coding = '', ...params] = item.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (coding && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(coding);
  }
  return accepted;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Resolves `'pkg'` to `<pkg>/statics` and `['pkg', 'dir']` to `<pkg>/dir`, from the working directory. */
function packageDirectories(packages: readonly (string | readonly [string, string])[]): string[] {
  const require = createRequire(join(process.cwd(), 'noop.js'));
  return packages.map((entry) => {
    const [name, folder] = typeof entry === 'string' ? [entry, 'statics'] : entry;
    const root = dirname(realpathSync(require.resolve(`${name}/package.json`)));
    const directory = join(root, folder);
    if (!isDirectory(directory))
      throw new Error(`Directory '${folder}' in package '${name}' could not be found.`);
    return directory;
  });
}
