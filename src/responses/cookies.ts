/**
 * Set-Cookie header values, formatted as Python's SimpleCookie does (so headers match Starlette's byte for
 * byte): attributes in alphabetical order, values quoted when they hold characters outside the token set.
 */

/** Options of `response.setCookie(...)`. */
export interface CookieOptions {
  /** Seconds until expiry (`Max-Age`). */
  maxAge?: number | null;
  /** A Date, an HTTP-date string, or seconds from now. */
  expires?: Date | string | number | null;
  path?: string | null;
  domain?: string | null;
  secure?: boolean;
  httponly?: boolean;
  samesite?: 'lax' | 'strict' | 'none' | 'Lax' | 'Strict' | 'None' | null;
  partitioned?: boolean;
}

const LEGAL = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]*$/;
// Printable characters that are quoted but not escaped inside a quoted value.
const QUOTED_PLAIN = ' ()/<=>?@[]{}';

function quoteValue(value: string): string {
  if (value !== '' && LEGAL.test(value)) return value;
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (code > 255 || (LEGAL.test(ch) && code < 128) || QUOTED_PLAIN.includes(ch)) out += ch;
    else out += '\\' + code.toString(8).padStart(3, '0');
  }
  return out + '"';
}

/** Formats a date as an HTTP-date in GMT: `Wed, 21 Oct 2015 07:28:00 GMT`. */
export function httpDate(date: Date | number): string {
  return (typeof date === 'number' ? new Date(date) : date).toUTCString();
}

/** The value of one `Set-Cookie` header. */
export function formatCookie(key: string, value: string, options: CookieOptions = {}): string {
  const {
    maxAge = null,
    expires = null,
    path = '/',
    domain = null,
    secure = false,
    httponly = false,
  } = options;
  const { samesite = 'lax', partitioned = false } = options;
  const parts = [`${key}=${quoteValue(value)}`];
  if (domain != null) parts.push(`Domain=${domain}`);
  if (expires != null) {
    let formatted: string;
    if (expires instanceof Date) formatted = httpDate(expires);
    else if (typeof expires === 'number') formatted = httpDate(Date.now() + expires * 1000);
    else formatted = expires;
    parts.push(`expires=${formatted}`);
  }
  if (httponly) parts.push('HttpOnly');
  if (maxAge != null) parts.push(`Max-Age=${maxAge}`);
  if (partitioned) parts.push('Partitioned');
  if (path != null) parts.push(`Path=${path}`);
  if (samesite != null) {
    if (!['strict', 'lax', 'none'].includes(samesite.toLowerCase())) {
      throw new TypeError("samesite must be either 'strict', 'lax' or 'none'");
    }
    parts.push(`SameSite=${samesite}`);
  }
  if (secure) parts.push('Secure');
  return parts.join('; ');
}
