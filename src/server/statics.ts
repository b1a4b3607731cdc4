/**
 * Finds the top-level `StaticFiles` mounts the core can answer without entering JS: only where the
 * app's answer could not differ (no user middleware, no body limit, no bare-prefix redirect, no earlier
 * route that could claim the prefix).
 * Internal; used by `serve()`.
 */
import type { ASGIApp } from '../asgi.ts';
import { Starling } from '../applications.ts';
import { Host, Mount } from '../routing.ts';
import { StaticFiles } from '../staticfiles.ts';
import { packedMediaTypes } from '../_utils.ts';

/** What the core takes (see crates/node/src/options.rs). */
export interface NativeStaticMount {
  prefix: string;
  directories: string[];
  followSymlink: boolean;
  cacheControl?: string;
}

/** The mounts the core may serve for `app`, and the media-type table to answer with. */
export function nativeStatics(
  app: ASGIApp,
): { staticMounts: NativeStaticMount[]; mediaTypes: string } | null {
  if (!(app instanceof Starling) || app.userMiddleware.length > 0 || app.maxBodySize !== null) return null;
  const mounts: NativeStaticMount[] = [];
  const claimed: string[] = [];
  for (const route of app.routes) {
    // A Host may answer any path; after one, nothing below is safe to short-cut.
    if (route instanceof Host) break;
    const path = (route as { path?: unknown }).path;
    // Unknown route kinds, catch-all mounts and parameterised paths may claim anything below.
    if (typeof path !== 'string' || path === '' || path.includes('{')) break;
    const staticMount =
      route instanceof Mount &&
      route.innerApp instanceof StaticFiles &&
      !route.hasMiddleware &&
      route.maxBodySize === null &&
      !route.redirectBare
        ? route.innerApp
        : null;
    if (staticMount && !claimed.some((p) => p.startsWith(path))) {
      mounts.push({
        prefix: path,
        directories: [...staticMount.allDirectories],
        followSymlink: staticMount.followSymlink,
        cacheControl: staticMount.cacheControl,
      });
    }
    claimed.push(path);
  }
  return mounts.length ? { staticMounts: mounts, mediaTypes: packedMediaTypes() } : null;
}
