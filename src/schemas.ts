/**
 * OpenAPI schemas built from the routing table: each operation's description comes from the route's
 * `openapi` option or the endpoint's `openapi` property.
 *
 * Import it from `starlingjs/schemas`.
 */
import { isClass } from './_utils.ts';
import type { Request } from './requests.ts';
import { Response, type ResponseOptions } from './responses.ts';

const CLASS_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'];

/** One operation: a path (convertors removed), an HTTP method (lower-case) and its endpoint. */
export interface EndpointInfo {
  path: string;
  httpMethod: string;
  func: unknown;
  /** The OpenAPI operation object, if the route or endpoint has one. */
  openapi: unknown;
}

/** The parts of Route, Mount and Host that schema generation reads. */
interface RouteLike {
  path?: string;
  endpoint?: unknown;
  methods?: Iterable<string> | null;
  includeInSchema?: boolean;
  openapi?: unknown;
  routes?: RouteLike[];
  host?: string;
}

/**
 * Builds an OpenAPI document: the base schema given, plus `paths[path][method]` for every route operation
 * that has an `openapi` description. Mounts add their prefix; routes with `includeInSchema: false`,
 * websocket routes and HEAD are left out.
 *
 * @example
 * ```ts
 * const schemas = new SchemaGenerator({ openapi: '3.0.0', info: { title: 'Example API', version: '1.0' } });
 * const listUsers = async () => new JSONResponse([]);
 * listUsers.openapi = { responses: { 200: { description: 'A list of users.' } } };
 * const app = new Starling({ routes: [
 *   new Route('/users', listUsers),
 *   new Route('/schema', (request) => schemas.OpenAPIResponse(request), { includeInSchema: false }),
 * ] });
 * ```
 */
export class SchemaGenerator {
  constructor(readonly baseSchema: Record<string, unknown>) {}

  /** Every operation of `routes`, in routing order. */
  getEndpoints(routes: readonly unknown[]): EndpointInfo[] {
    const found: EndpointInfo[] = [];
    for (const route of routes as RouteLike[]) {
      if (route.routes !== undefined && route.endpoint === undefined) {
        const prefix = route.host === undefined ? (route.path ?? '') : '';
        for (const sub of this.getEndpoints(route.routes)) found.push({ ...sub, path: prefix + sub.path });
        continue;
      }
      if (route.endpoint === undefined || route.methods === undefined || route.includeInSchema === false)
        continue;
      const path = (route.path ?? '').replace(/\{([^}:]+):[^}]+\}/g, '{$1}');
      const endpoint = route.endpoint as { prototype?: Record<string, unknown>; openapi?: unknown };
      if (isClass(endpoint)) {
        for (const method of CLASS_METHODS) {
          const handler = endpoint.prototype?.[method] as ((...args: never[]) => unknown) & {
            openapi?: unknown;
          };
          if (typeof handler !== 'function') continue;
          found.push({
            path,
            httpMethod: method,
            func: handler,
            openapi: pick(route.openapi, method) ?? handler.openapi,
          });
        }
        continue;
      }
      for (const method of route.methods ?? ['GET']) {
        const lower = method.toLowerCase();
        if (lower === 'head') continue;
        found.push({
          path,
          httpMethod: lower,
          func: endpoint,
          openapi: pick(route.openapi, lower) ?? endpoint.openapi,
        });
      }
    }
    return found;
  }

  /** The whole document for `routes` (usually `app.routes`). */
  getSchema(routes: readonly unknown[]): Record<string, unknown> {
    const schema: Record<string, unknown> = structuredClone(this.baseSchema);
    const paths = (schema.paths ??= {}) as Record<string, Record<string, unknown>>;
    for (const endpoint of this.getEndpoints(routes)) {
      if (endpoint.openapi === undefined || endpoint.openapi === null) continue;
      (paths[endpoint.path] ??= {})[endpoint.httpMethod] = endpoint.openapi;
    }
    return schema;
  }

  /** The schema of the app serving `request`, as a YAML response. */
  OpenAPIResponse(request: Request): OpenAPIResponse {
    const app = request.app as { routes?: unknown[] } | undefined;
    const router = request.scope.router as { routes?: unknown[] } | undefined;
    return new OpenAPIResponse(this.getSchema(app?.routes ?? router?.routes ?? []));
  }
}

/** An operation from an `openapi` option that is either one operation or a map of method → operation. */
function pick(openapi: unknown, method: string): unknown {
  if (openapi === undefined || openapi === null || typeof openapi !== 'object') return openapi ?? undefined;
  const keys = Object.keys(openapi);
  const perMethod =
    keys.length > 0 && keys.every((k) => [...CLASS_METHODS, 'head', 'trace', 'query'].includes(k));
  return perMethod ? (openapi as Record<string, unknown>)[method] : openapi;
}

/**
 * An OpenAPI document served as YAML (`application/vnd.oai.openapi`), keys sorted as PyYAML writes them.
 *
 * @example
 * ```ts
 * return new OpenAPIResponse({ openapi: '3.0.0', info: { title: 'API', version: '1' }, paths: {} });
 * ```
 */
export class OpenAPIResponse extends Response {
  static override mediaType: string | null = 'application/vnd.oai.openapi';

  constructor(content: Record<string, unknown>, options: ResponseOptions = {}) {
    if (content === null || typeof content !== 'object' || Array.isArray(content)) {
      throw new TypeError('OpenAPIResponse content must be an object');
    }
    super(content, options);
  }

  override render(content: unknown): Uint8Array {
    return Buffer.from(toYAML(content), 'utf8');
  }
}

const RESERVED =
  /^(?:~|null|true|false|yes|no|on|off|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|\.inf|\.nan)$/i;
const PLAIN = /^[A-Za-z0-9_/.({][A-Za-z0-9_/.(){}, '-]*$/;

/** A block-style YAML rendering of JSON-like data (sorted keys, as PyYAML's `dump` defaults). */
export function toYAML(value: unknown): string {
  return isCollection(value) ? block(value, 0) : `${scalar(value)}\n`;
}

function isCollection(value: unknown): value is object {
  return (
    value !== null && typeof value === 'object' && Object.keys(value).length > 0 && !(value instanceof Date)
  );
}

function block(value: object, indent: number): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    return value
      .map((item) =>
        isCollection(item) ? `${pad}- ${block(item, indent + 2).trimStart()}` : `${pad}- ${scalar(item)}\n`,
      )
      .join('');
  }
  return Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => {
      const item = (value as Record<string, unknown>)[key];
      if (!isCollection(item)) return `${pad}${scalar(key)}: ${scalar(item)}\n`;
      // PyYAML indents a mapping under its key, but not a sequence.
      return `${pad}${scalar(key)}:\n${block(item, Array.isArray(item) ? indent : indent + 2)}`;
    })
    .join('');
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'object') return '{}';
  const text = String(value);
  if (PLAIN.test(text) && !RESERVED.test(text) && !text.endsWith(' ')) return text;
  if (/[\n\r\t\\"\x00-\x08\x7f]/.test(text)) return JSON.stringify(text);
  return `'${text.replace(/'/g, "''")}'`;
}
