/**
 * The cookie format of Python Starlette's SessionMiddleware, so that a Starling app and a Starlette app
 * sharing a secret read each other's sessions: `base64(json) "." base64url(timestamp) "." base64url(hmac)`,
 * as itsdangerous' `TimestampSigner` with its defaults (salt `itsdangerous.Signer`, key derivation
 * "django-concat", HMAC-SHA1). Private to the sessions middleware.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const SALT = 'itsdangerous.Signer';

/** itsdangerous' default key derivation: `sha1(salt + "signer" + secret)`. */
function deriveKey(secret: string): Buffer {
  return createHash('sha1')
    .update(SALT + 'signer' + secret, 'utf8')
    .digest();
}

function signature(key: Buffer, value: string): Buffer {
  return createHmac('sha1', key).update(value, 'utf8').digest();
}

/** Signs values with one secret and verifies them with it or any older one (key rotation). */
export class TimestampSigner {
  readonly #keys: Buffer[];

  constructor(secret: string, oldSecrets: readonly string[] = []) {
    this.#keys = [secret, ...oldSecrets].map(deriveKey);
  }

  /** Appends the current time and a signature made with the newest secret. */
  sign(value: string, now = Date.now()): string {
    const withTime = `${value}.${encodeTimestamp(Math.floor(now / 1000))}`;
    return `${withTime}.${signature(this.#keys[0]!, withTime).toString('base64url')}`;
  }

  /**
   * The signed value, or `null` when the signature is bad, or older than `maxAge` seconds (or dated in the
   * future). `rotated` tells that an old secret matched, so the caller can re-sign with the new one.
   */
  unsign(
    signed: string,
    maxAge: number | null,
    now = Date.now(),
  ): { value: string; rotated: boolean } | null {
    const sigAt = signed.lastIndexOf('.');
    if (sigAt === -1) return null;
    const withTime = signed.slice(0, sigAt);
    const given = Buffer.from(signed.slice(sigAt + 1), 'base64url');
    const index = this.#keys.findIndex((key) => {
      const expected = signature(key, withTime);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (index === -1) return null;
    const timeAt = withTime.lastIndexOf('.');
    if (timeAt === -1) return null;
    const timestamp = decodeTimestamp(withTime.slice(timeAt + 1));
    if (timestamp === null) return null;
    const age = Math.floor(now / 1000) - timestamp;
    if (maxAge !== null && (age > maxAge || age < 0)) return null;
    return { value: withTime.slice(0, timeAt), rotated: index > 0 };
  }
}

/** An integer as its shortest big-endian bytes, base64url without padding (itsdangerous' `int_to_bytes`). */
function encodeTimestamp(seconds: number): string {
  let hex = seconds.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex').toString('base64url');
}

function decodeTimestamp(text: string): number | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length === 0 || bytes.length > 6) return null;
  return bytes.readUIntBE(0, bytes.length);
}

/**
 * `JSON.stringify` spelled as Python's `json.dumps` with its defaults (`", "` and `": "` separators,
 * non-ASCII escaped as `\uXXXX`), so that the same session gives the same cookie in both languages.
 */
export function pythonJSON(value: unknown): string {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol')
    return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(pythonJSON).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(
    ([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol',
  );
  return `{${entries.map(([k, v]) => `${quote(k)}: ${pythonJSON(v)}`).join(', ')}}`;
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function quote(text: string): string {
  // Python escapes everything outside printable ASCII, code unit by code unit, in lower-case hex.
  // eslint-disable-next-line no-control-regex
  return `"${text.replace(/["\\]|[^ -~]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}
