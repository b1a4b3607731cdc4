/** What the TestClient's transports show of the headers an app sent. */
import type { HeaderLike } from '../asgi.ts';
import { latin1Decode, toHeaderBytes } from '../_utils.ts';

/** `[name, value]` text pairs; a string goes through latin-1 as on the wire (past U+00FF, the low byte). */
export function decodeHeaders(headers: Iterable<HeaderLike> | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of headers ?? [])
    out.push([latin1Decode(toHeaderBytes(k)), latin1Decode(toHeaderBytes(v))]);
  return out;
}
