/**
 * How the command line logs: uvicorn's level prefixes (`INFO:     `), coloured on a terminal, and
 * `--log-config`, a JSON file in the shape of Python's `logging.config.dictConfig`, of which Starling
 * honours what applies to its three loggers (`starling`, `starling.error`, `starling.access`; the
 * `uvicorn.*` names are taken as theirs, so a uvicorn config works).
 *
 * @example
 * ```ts
 * const config = parseLogConfig({ version: 1, loggers: { 'starling.access': { level: 'WARNING' } } }, console.warn);
 * config.accessLevel; // 'warning': no access log
 * ```
 */

export const LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const;
/** A log level, lowest first in `LEVELS`. */
export type Level = (typeof LEVELS)[number];

/** Whether a logger set at `threshold` lets a `level` line through. */
export function allows(threshold: Level, level: Level): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(threshold);
}

// uvicorn's colours (its ColourizedFormatter): SGR foreground codes.
const COLOURS: Record<Level, number> = {
  trace: 34,
  debug: 36,
  info: 32,
  warning: 33,
  error: 31,
  critical: 91,
};

/** `INFO:     message`: the level name, a colon, padding to column 10, the name coloured when asked. */
export function formatLine(level: Level, message: string, colors: boolean): string {
  const name = level.toUpperCase();
  const pad = ' '.repeat(9 - name.length);
  return `${colors ? `\x1b[${COLOURS[level]}m${name}\x1b[0m` : name}:${pad}${message}`;
}

/** `text` in bold when colouring. */
export function bold(text: string, colors: boolean): string {
  return colors ? `\x1b[1m${text}\x1b[0m` : text;
}

/**
 * `--use-colors` / `--no-use-colors` decide; unset, colour when `stream` is a terminal that has colours
 * (Node's `hasColors()`, which honours `NO_COLOR`, `FORCE_COLOR`, `NODE_DISABLE_COLORS`, `TERM=dumb`, and
 * says no under a `CI` variable that names no CI it knows).
 */
export function shouldColor(stream: NodeJS.WriteStream, flag: boolean | undefined): boolean {
  return flag ?? (stream.isTTY === true && stream.hasColors());
}

/** What a `--log-config` file sets; an absent field leaves the default. */
export interface LogConfig {
  /** `starling.error` (else `starling`): the server's own lines and the app's errors. */
  level?: Level;
  /** `starling.access` (else `starling`): above `info`, no access log. */
  accessLevel?: Level;
  /** `false` when `starling.access` has `"handlers": []`. */
  accessLog?: boolean;
  /** `formatters.default.use_colors` (`null` = decide by the terminal). */
  colors?: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const LOGGERS: Record<string, 'root' | 'error' | 'access'> = {
  starling: 'root',
  'starling.error': 'error',
  'starling.access': 'access',
  uvicorn: 'root',
  'uvicorn.error': 'error',
  'uvicorn.access': 'access',
};
const NUMERIC_LEVELS: Record<number, Level> = {
  5: 'trace',
  10: 'debug',
  20: 'info',
  30: 'warning',
  40: 'error',
  50: 'critical',
};

function level(where: string, value: unknown): Level {
  if (typeof value === 'number' && NUMERIC_LEVELS[value]) return NUMERIC_LEVELS[value];
  const name = typeof value === 'string' ? value.toLowerCase() : '';
  if ((LEVELS as readonly string[]).includes(name)) return name as Level;
  throw new Error(
    `--log-config: ${where}.level must be one of ${LEVELS.join(', ')} (got ${JSON.stringify(value)})`,
  );
}

/** A handler must write to stderr: the core writes the access log there, and so does everything else. */
function checkHandler(name: string, handler: unknown, ignored: string[]): void {
  if (!isObject(handler)) throw new Error(`--log-config: handlers.${name} must be an object`);
  const { class: cls = 'logging.StreamHandler', stream = 'ext://sys.stderr', filename } = handler;
  const to =
    filename !== undefined
      ? `the file ${JSON.stringify(filename)}`
      : cls !== 'logging.StreamHandler'
        ? `a ${JSON.stringify(cls)}`
        : stream !== 'ext://sys.stderr'
          ? JSON.stringify(stream)
          : undefined;
  if (to) {
    throw new Error(
      `--log-config: handlers.${name} writes to ${to}, but Starling writes every log line to stderr for ` +
        `now (the core writes the access log there): use "class": "logging.StreamHandler" with ` +
        `"stream": "ext://sys.stderr", or leave both out.`,
    );
  }
  for (const key of Object.keys(handler))
    if (!['class', 'stream', 'formatter'].includes(key)) ignored.push(`handlers.${name}.${key}`);
}

/**
 * Reads a parsed `--log-config` JSON. Throws on what would send lines elsewhere than asked (a file or
 * stdout handler, an unknown level or handler name); calls `warn` once with the keys it ignores.
 */
export function parseLogConfig(config: unknown, warn: (message: string) => void): LogConfig {
  if (!isObject(config) || config.version !== 1) {
    throw new Error('--log-config: the file must be a JSON object with "version": 1 (dictConfig\'s schema)');
  }
  const ignored: string[] = [];
  const handlers = config.handlers ?? {};
  if (!isObject(handlers)) throw new Error('--log-config: "handlers" must be an object');
  for (const [name, handler] of Object.entries(handlers)) checkHandler(name, handler, ignored);

  const result: LogConfig = {};
  const loggers = config.loggers ?? {};
  if (!isObject(loggers)) throw new Error('--log-config: "loggers" must be an object');
  const levels: Partial<Record<'root' | 'error' | 'access', Level>> = {};
  for (const [name, logger] of Object.entries(loggers)) {
    const role = LOGGERS[name];
    if (!role || !isObject(logger)) {
      ignored.push(`loggers.${name}`);
      continue;
    }
    if (logger.level !== undefined) levels[role] = level(`loggers.${name}`, logger.level);
    if (Array.isArray(logger.handlers)) {
      for (const h of logger.handlers) {
        if (typeof h !== 'string' || !Object.hasOwn(handlers, h))
          throw new Error(
            `--log-config: loggers.${name} names the handler ${JSON.stringify(h)}, which "handlers" does not declare`,
          );
      }
      if (role === 'access' && logger.handlers.length === 0) result.accessLog = false;
    }
    for (const key of Object.keys(logger))
      if (!['level', 'handlers', 'propagate'].includes(key)) ignored.push(`loggers.${name}.${key}`);
  }
  // starling.error and starling.access inherit starling's level, as Python loggers do their parent's.
  const errorLevel = levels.error ?? levels.root;
  const accessLevel = levels.access ?? levels.root;
  if (errorLevel) result.level = errorLevel;
  if (accessLevel) result.accessLevel = accessLevel;

  const formatters = config.formatters ?? {};
  if (!isObject(formatters)) throw new Error('--log-config: "formatters" must be an object');
  for (const [name, formatter] of Object.entries(formatters)) {
    for (const [key, value] of Object.entries(isObject(formatter) ? formatter : {})) {
      if (name === 'default' && key === 'use_colors' && (typeof value === 'boolean' || value === null)) {
        if (value !== null) result.colors = value;
      } else ignored.push(`formatters.${name}.${key}`);
    }
  }
  for (const key of Object.keys(config)) {
    if (!['version', 'disable_existing_loggers', 'handlers', 'loggers', 'formatters'].includes(key))
      ignored.push(key);
  }
  if (ignored.length) warn(`--log-config: ignored (Starling does not support them): ${ignored.join(', ')}`);
  return result;
}
