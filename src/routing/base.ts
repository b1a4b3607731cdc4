/**
 * Routing building blocks: `Match`, `NoMatchFound`, `compilePath` and the `BaseRoute` every route extends.
 */
import type { Receive, Scope, Send } from '../asgi.ts';
import { getRoutePath } from '../_utils.ts';
import { CONVERTOR_TYPES, type Convertor } from '../convertors.ts';
import type { URLPath } from '../datastructures.ts';
import { PlainTextResponse } from '../responses.ts';
import { WebSocketClose } from '../websockets.ts';

/** How well a route matches a scope: not at all, path only (wrong method), or fully. */
export const Match = { NONE: 0, PARTIAL: 1, FULL: 2 } as const;
export type Match = (typeof Match)[keyof typeof Match];

/** Path parameters as given to `urlPathFor`. */
export type PathParams = Record<string, unknown>;

/**
 * Thrown by `urlPathFor` when no route has that name and exactly those parameters.
 *
 * @example
 * ```ts
 * try { app.urlPathFor('user', {}); } catch (e) { e instanceof NoMatchFound; }
 * ```
 */
export class NoMatchFound extends Error {
  constructor(name: string, params: PathParams) {
    super(`No route exists for name "${name}" and params "${Object.keys(params).join(', ')}".`);
    this.name = 'NoMatchFound';
  }
}

/** A compiled route path: the regex, the format used to reverse it, and the convertor per parameter. */
export interface CompiledPath {
  regex: RegExp;
  format: string;
  convertors: Record<string, Convertor>;
  /** The literal text before the first parameter, which every match starts with (checked before the regex). */
  prefix?: string;
  /** The whole path, when it has no parameters (and is not a host pattern): compared instead of the regex. */
  literal?: string;
}

const PARAM = /\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?\}/g;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** `'example.org:3600'` without `':3600'`; an IPv6 literal (`'[::1]'`) keeps its colons. */
export const withoutPort = (host: string): string =>
  host.endsWith(']') ? host : host.replace(/:[^:]*$/, '');

/**
 * Compiles `'/users/{id:int}'` into a regex with one named group per parameter. A pattern without a
 * leading `/` is a host pattern: its `:port` is ignored when matching and kept in the format.
 *
 * @example
 * ```ts
 * const { regex, format } = compilePath('/users/{id:int}');
 * regex.exec('/users/7')?.groups; // { id: '7' }
 * format; // '/users/{id}'
 * ```
 */
export function compilePath(path: string): CompiledPath {
  const isHost = !path.startsWith('/');
  let regex = '^';
  let format = '';
  const convertors: Record<string, Convertor> = {};
  const duplicated = new Set<string>();
  let index = 0;
  let prefix: string | null = null;
  for (const match of path.matchAll(PARAM)) {
    const [whole, name = '', type = 'str'] = match;
    const convertor = CONVERTOR_TYPES[type];
    if (!convertor) throw new Error(`Unknown path convertor '${type}'`);
    const literal = path.slice(index, match.index);
    prefix ??= literal;
    regex += escape(literal) + `(?<${name}>${convertor.regex})`;
    format += literal + `{${name}}`;
    if (name in convertors) duplicated.add(name);
    convertors[name] = convertor;
    index = (match.index ?? 0) + whole.length;
  }
  if (duplicated.size > 0) {
    const names = [...duplicated].sort().join(', ');
    throw new Error(`Duplicated param name${duplicated.size > 1 ? 's' : ''} ${names} at path ${path}`);
  }
  const rest = path.slice(index);
  // A host pattern matches the Host header without its port, but keeps the port for reversed URLs.
  regex += escape(isHost ? withoutPort(rest) : rest) + '$';
  format += rest;
  // Host patterns match case-insensitively, so their prefix is no cheap filter: leave it empty.
  prefix = isHost ? '' : (prefix ?? rest);
  const literal = isHost || index > 0 ? undefined : path;
  return { regex: new RegExp(regex, isHost ? 'i' : ''), format, convertors, prefix, literal };
}

/** Runs the regex once and converts the parameters (a fresh object), or `null` on a miss. */
export function matchPath(compiled: CompiledPath, value: string): Record<string, unknown> | null {
  if (compiled.literal !== undefined) return value === compiled.literal ? {} : null;
  // Most routes of a table differ in their leading literal: a string compare rejects them cheaply.
  if (compiled.prefix && !value.startsWith(compiled.prefix)) return null;
  const match = compiled.regex.exec(value);
  if (match === null) return null;
  const params: Record<string, unknown> = {};
  const groups = match.groups;
  if (groups !== undefined) {
    for (const name in groups) params[name] = (compiled.convertors[name] as Convertor).convert(groups[name]!);
  }
  return params;
}

/**
 * Whether `value` may match: the cheap checks and the regex of `matchPath`, without converting
 * parameters (a convertor is only ever given text a request really matched).
 */
export function pathMayMatch(compiled: CompiledPath, value: string): boolean {
  if (compiled.literal !== undefined) return value === compiled.literal;
  if (compiled.prefix && !value.startsWith(compiled.prefix)) return false;
  return compiled.regex.test(value);
}

/** The answer of `matches` for a miss, shared (and frozen) so that a miss allocates nothing. */
export const NO_MATCH = Object.freeze([Match.NONE, Object.freeze({})]) as unknown as [
  Match,
  Record<string, unknown>,
];

/** `path_params` of a match: the new params over those of enclosing mounts, without copying when there are none. */
export function mergePathParams(scope: Scope, params: Record<string, unknown>): Record<string, unknown> {
  const outer = scope.path_params as Record<string, unknown> | undefined;
  if (outer === undefined || outer === null) return params;
  return Object.assign({}, outer, params);
}

/** Fills a path format from params; returns the path and the params that were not used. */
export function replaceParams(
  format: string,
  convertors: Record<string, Convertor>,
  params: PathParams,
): [string, PathParams] {
  const remaining = { ...params };
  for (const [key, value] of Object.entries(params)) {
    if (format.includes(`{${key}}`)) {
      const convertor = convertors[key] ?? (CONVERTOR_TYPES.str as Convertor);
      format = format.replaceAll(`{${key}}`, convertor.toString(value));
      delete remaining[key];
    }
  }
  return [format, remaining];
}

/**
 * Enters a route's match: copies its child scope's entries into `scope`, as Starlette's
 * `scope.update(child_scope)`. The keys routes set are stored by name: V8 then caches each store,
 * where `Object.assign` takes its generic path for every key (about 40 ns a request). Other string
 * keys are copied too; a symbol-keyed entry of a child is not (no route of ours makes one).
 */
export function enterChild(scope: Scope, child: Record<string, unknown>): void {
  const target = scope as Record<string, unknown>;
  for (const key in child) {
    if (key === 'endpoint') target.endpoint = child.endpoint;
    else if (key === 'path_params') target.path_params = child.path_params;
    else if (key === 'root_path') target.root_path = child.root_path;
    else if (key === 'app_root_path') target.app_root_path = child.app_root_path;
    else target[key] = child[key];
  }
}

/** The path routes match against: `path` without `root_path`, and `/` rather than empty. */
export function routePath(scope: Scope): string {
  return getRoutePath(scope as Scope & { path: string; root_path?: string }) || '/';
}

/** The name a route takes by default: the function's or class's name. */
export function getName(endpoint: unknown): string {
  if (typeof endpoint === 'function') return endpoint.name || 'anonymous';
  return (endpoint as object | null)?.constructor?.name ?? 'anonymous';
}

/** Internal (the router's index of fixed paths): see `BaseRoute[FIXED_PATH]`. */
export const FIXED_PATH: unique symbol = Symbol('starling.fixedPath');
/** Internal (the router's index of fixed paths): see `BaseRoute[MAY_MATCH_PATH]`. */
export const MAY_MATCH_PATH: unique symbol = Symbol('starling.mayMatchPath');

/**
 * The base of every route: it matches a scope, reverses a name into a path, and handles a request.
 * A route is also an ASGI app on its own (404 / close when it does not match).
 */
export abstract class BaseRoute {
  /** The name `urlPathFor` knows this route by, if any. */
  abstract readonly name: string | null;
  abstract matches(scope: Scope): [Match, Record<string, unknown>];
  abstract urlPathFor(name: string, params?: PathParams): URLPath;
  abstract handle(scope: Scope, receive: Receive, send: Send): Promise<void>;

  /**
   * Internal: the one path (as `routePath` gives it) at which this route matches HTTP requests, when
   * it has no parameters; `undefined` otherwise, and for any route whose matching is not known.
   */
  [FIXED_PATH](): string | undefined {
    return undefined;
  }

  /**
   * Internal: `false` only when this route matches no HTTP request for `path` (as `routePath` gives
   * it), whatever its method and headers. Unknown routes may match anything.
   */
  [MAY_MATCH_PATH](_path: string): boolean {
    return true;
  }

  /** Serves the route alone, outside a router. */
  asgi = async (scope: Scope, receive: Receive, send: Send): Promise<void> => {
    const [match, child] = this.matches(scope);
    if (match === Match.NONE) {
      if (scope.type === 'http')
        await new PlainTextResponse('Not Found', { status: 404 }).asgi(scope, receive, send);
      else if (scope.type === 'websocket') await new WebSocketClose().asgi(scope, receive, send);
      return;
    }
    enterChild(scope, child);
    await this.handle(scope, receive, send);
  };
}
