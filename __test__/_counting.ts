/**
 * Counts the HTTP requests that reach an app's JavaScript, so a test can tell that the core answered
 * alone (native static files).
 */
import type { Starling } from '../src/applications.ts';

export function counting(app: Starling): { app: Starling; hits: () => number } {
  let hits = 0;
  const original = app.asgi;
  Object.defineProperty(app, 'asgi', {
    value: (...args: Parameters<typeof original>) => {
      if (args[0].type === 'http') hits++;
      return original(...args);
    },
  });
  return { app, hits: () => hits };
}
