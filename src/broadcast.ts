/**
 * `starling/broadcast` (the package exports `dist/broadcast/index.js`). This file keeps the import path
 * `src/broadcast.ts` that the docs runner resolves `starling/broadcast` to, as `routing.ts` does for `routing/`.
 */
export * from './broadcast/index.ts';
