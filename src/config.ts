/**
 * Configuration from the environment and a `.env` file, with typed casts and defaults.
 */
import { existsSync } from 'node:fs';
import { readEnvFile } from './_dotenv.ts';
import { isClass } from './_utils.ts';

/** Thrown when an environment variable is changed after the app has read it. */
export class EnvironError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironError';
  }
}

/**
 * The process environment, guarded: setting or deleting a key that was already read throws, because the
 * app would otherwise be running with a stale value.
 *
 * @example
 * ```ts
 * environ.set('TESTING', 'true'); // before the config reads it
 * ```
 */
export class Environ {
  readonly #env: Record<string, string | undefined>;
  readonly #read = new Set<string>();

  constructor(env: Record<string, string | undefined> = process.env) {
    this.#env = env;
  }
  get(key: string): string | undefined {
    this.#read.add(key);
    return this.#env[key];
  }
  has(key: string): boolean {
    return this.#env[key] !== undefined;
  }
  set(key: string, value: string): void {
    if (this.#read.has(key))
      throw new EnvironError(`Attempting to set environ['${key}'], but the value has already been read.`);
    this.#env[key] = value;
  }
  delete(key: string): void {
    if (this.#read.has(key))
      throw new EnvironError(`Attempting to delete environ['${key}'], but the value has already been read.`);
    delete this.#env[key];
  }
  keys(): string[] {
    return Object.keys(this.#env).filter((k) => this.#env[k] !== undefined);
  }
  get size(): number {
    return this.keys().length;
  }
  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }
}

/** The guarded process environment used by default by every `Config`. */
export const environ = new Environ();

/** A cast: a function of the string (`Number`, `String`, `Boolean`...) or a class built with `new`. */
export type Cast<T> = ((value: string) => T) | (new (value: string) => T);

/** Options of `new Config(...)`. */
export interface ConfigOptions {
  environ?: Environ | Record<string, string | undefined>;
  envPrefix?: string;
  encoding?: BufferEncoding;
}

const MISSING = Symbol('missing');

/**
 * Reads settings from the environment first, then the env file, then the default.
 *
 * @example
 * ```ts
 * const config = new Config('.env');
 * const DEBUG = config.get('DEBUG', { cast: Boolean, default: false });
 * const DATABASE_URL = config.get('DATABASE_URL', { cast: URL });
 * const SECRET_KEY = config.get('SECRET_KEY', { cast: Secret });
 * ```
 */
export class Config {
  readonly #environ: Environ;
  readonly #prefix: string;
  readonly #fileValues: Record<string, string> = {};

  constructor(envFile?: string | null, options: ConfigOptions = {}) {
    const env = options.environ ?? environ;
    this.#environ = env instanceof Environ ? env : new Environ(env);
    this.#prefix = options.envPrefix ?? '';
    if (envFile != null) {
      if (!existsSync(envFile)) process.emitWarning(`Config file '${envFile}' not found.`);
      else this.#fileValues = readEnvFile(envFile, options.encoding);
    }
  }

  /** The value of `key`, cast; throws when missing without a default or when the cast fails. */
  get<T>(key: string, options: { cast: (value: string) => T; default?: unknown }): T;
  get<T>(key: string, options: { cast: new (value: string) => T; default?: unknown }): T;
  get(key: string, options?: { default?: unknown }): string;
  get<T>(key: string, options: { cast?: Cast<T>; default?: unknown } = {}): T {
    const fullKey = this.#prefix + key;
    let value: unknown = MISSING;
    if (this.#environ.has(fullKey)) value = this.#environ.get(fullKey);
    else if (Object.hasOwn(this.#fileValues, fullKey)) value = this.#fileValues[fullKey];
    else if ('default' in options && options.default !== undefined) value = options.default;
    if (value === MISSING) throw new Error(`Config '${fullKey}' is missing, and has no default.`);
    return this.#cast(fullKey, value, options.cast) as T;
  }

  #cast(key: string, value: unknown, cast: Cast<unknown> | undefined): unknown {
    if (value === null || cast === undefined) return value;
    if (cast === (Boolean as unknown)) {
      if (typeof value === 'boolean') return value;
      const lowered = String(value).toLowerCase();
      if (lowered === 'true' || lowered === '1') return true;
      if (lowered === 'false' || lowered === '0') return false;
      throw new Error(`Config '${key}' has value '${value}'. Not a valid bool.`);
    }
    try {
      const result = isClass(cast)
        ? new (cast as new (v: unknown) => unknown)(value)
        : (cast as (v: unknown) => unknown)(value);
      if (typeof result === 'number' && Number.isNaN(result)) throw new TypeError('NaN');
      return result;
    } catch {
      throw new Error(`Config '${key}' has value '${value}'. Not a valid ${cast.name}.`);
    }
  }
}
