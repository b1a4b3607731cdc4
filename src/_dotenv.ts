/**
 * The `.env` reader that `Config` and the command line's `--env-file` share, so one file gives the same
 * values either way: `KEY=value` lines, `#` comments, one pair of matching quotes stripped.
 */
import { readFileSync } from 'node:fs';

/** The `KEY=value` pairs of a `.env` file; later lines win. */
export function readEnvFile(path: string, encoding: BufferEncoding = 'utf8'): Record<string, string> {
  const values: Record<string, string> = {};
  for (const rawLine of readFileSync(path, encoding).split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith('#') || !line.includes('=')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]))
      value = value.slice(1, -1);
    values[key] = value;
  }
  return values;
}
