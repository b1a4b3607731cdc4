/**
 * Responses: every one is an ASGI app (`response.asgi(scope, receive, send)`).
 */
export {
  Response,
  HTMLResponse,
  PlainTextResponse,
  JSONResponse,
  UJSONResponse,
  RedirectResponse,
  type ResponseOptions,
  type ResponseHeadersInit,
} from './responses/base.ts';
export { StreamingResponse, type StreamContent } from './responses/streaming.ts';
export { FileResponse, type FileResponseOptions } from './responses/file.ts';
export type { CookieOptions } from './responses/cookies.ts';
