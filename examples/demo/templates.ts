// The demo's templates: every page sees the signed-in user (or the anonymous one) as `user`.
import { fileURLToPath } from 'node:url';
import type { Request } from '../../src/index.ts';
import { Templates } from '../../src/templating.ts';

export const templates = new Templates({
  directory: fileURLToPath(new URL('./templates', import.meta.url)),
  contextProcessors: [(request: Request) => ({ user: request.user })],
});
