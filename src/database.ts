/**
 * `starling/database` (the package exports `dist/database/index.js`). This file keeps the import path
 * `src/database.ts` that the docs runner and sibling modules use, as `routing.ts` does for `routing/`.
 */
export * from './database/index.ts';
