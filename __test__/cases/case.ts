/** What a case is: an app, the requests a client makes to it, and what must come back. */
import type { ASGIApp } from '../../src/asgi.ts';

/** How a case is being run. */
export interface RunContext {
  mode: 'testclient' | 'native' | 'socket';
  /** `http://testserver` or `http://127.0.0.1:<port>`. */
  base: string;
  /** The Host header the client sends: `testserver` or `127.0.0.1:<port>`. */
  host: string;
  /** The client host the app sees. */
  clientHost: string;
}

/** One file of a multipart upload. */
export interface CaseFile {
  filename: string;
  content: string;
  contentType: string;
}

export interface CaseRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** Urlencoded form, or multipart when `files` is given too. */
  data?: Record<string, string>;
  files?: Record<string, CaseFile>;
  /** A raw body; an array is sent as a chunked body, one chunk per item. */
  content?: string | string[];
  followRedirects?: boolean;
}

/** A header expectation: exact value, pattern, or `null` for "absent". */
export type HeaderExpect = string | RegExp | null;

export interface Expect {
  status: number;
  headers?: Record<string, HeaderExpect>;
  /** Every `Set-Cookie` header, matched one by one. */
  setCookies?: (string | RegExp)[];
  text?: string | RegExp;
  json?: unknown;
}

/** What a client observed, normalised so that both paths can be compared. */
export interface Observed {
  status: number;
  /** Lower-case names, repeated values joined with `, ` (as `fetch` does); `set-cookie` is left out. */
  headers: Record<string, string>;
  setCookies: string[];
  /** Body decoded from any Content-Encoding, as UTF-8 text. */
  text: string;
}

export interface Step {
  request: CaseRequest | ((ctx: RunContext, previous: Observed[]) => CaseRequest);
  expect: Expect | ((ctx: RunContext, previous: Observed[]) => Expect);
}

export interface Case {
  name: string;
  /** A fresh app per run (module-level state would leak between the two runs). */
  app: () => ASGIApp;
  steps: Step[];
  /** Run lifespan startup/shutdown around the steps. */
  lifespan?: boolean;
  /** Headers whose values legitimately differ between runs (random boundaries, timestamps). */
  volatileHeaders?: string[];
  /** The bodies legitimately differ between runs. */
  volatileBody?: boolean;
}
