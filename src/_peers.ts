/**
 * Optional peer dependencies, loaded by the subpath that needs them and only when it does, so that
 * `import 'starlingjs'` never needs one. Only the package itself missing becomes the friendly error
 * naming what to install; a peer that is installed but fails to load (built for another Node, missing a
 * dependency of its own) passes its own error on, which says more.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The error a missing optional peer turns into; `user` says what needs it ("starlingjs/templating"). */
export function missingPeerError(name: string, user: string, cause?: unknown): Error {
  const error = new Error(
    `${user} needs the '${name}' package, which is not installed. Install it with: npm install ${name}`,
    { cause },
  );
  (error as Error & { code: string }).code = 'ERR_STARLING_PEER_MISSING';
  return error;
}

/** True when `error` says that module `name` itself (not one of its own imports) cannot be found. */
export function isMissingModule(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`));
}

/** Imports an optional peer (`load` is the `import()` of it), turning "not installed" into `missingPeerError`. */
export async function importPeer<T>(name: string, user: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw isMissingModule(error, name) ? missingPeerError(name, user, error) : error;
  }
}

/** Requires an optional peer synchronously (for constructors), as `importPeer` does. */
export function requirePeer<T>(name: string, user: string): T {
  try {
    return require(name) as T;
  } catch (error) {
    throw isMissingModule(error, name) ? missingPeerError(name, user, error) : error;
  }
}
