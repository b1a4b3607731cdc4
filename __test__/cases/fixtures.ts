/** The files the cases serve, and the helpers every section builds its cases with. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ASGIApp } from '../../src/asgi.ts';
import { Starling } from '../../src/applications.ts';
import type { Case, CaseRequest, Step } from './case.ts';

export const fixtures = mkdtempSync(join(tmpdir(), 'starling-cases-'));
export const FILE_TEXT = '0123456789abcdefghijklmnopqrstuvwxyz';
writeFileSync(join(fixtures, 'file.txt'), FILE_TEXT);
mkdirSync(join(fixtures, 'static', 'docs'), { recursive: true });
writeFileSync(join(fixtures, 'static', 'style.css'), 'body { color: red; }\n');
writeFileSync(join(fixtures, 'static', 'index.html'), '<h1>home</h1>\n');
writeFileSync(join(fixtures, 'static', 'docs', 'index.html'), '<h1>docs</h1>\n');
writeFileSync(join(fixtures, 'static', '404.html'), '<h1>custom 404</h1>\n');

export const app = (routes: ConstructorParameters<typeof Starling>[0]) => () => new Starling(routes);
export const get = (path: string, extra: Omit<CaseRequest, 'path'> = {}): CaseRequest => ({ path, ...extra });
export const one = (
  name: string,
  factory: () => ASGIApp,
  request: CaseRequest,
  expect: Step['expect'],
  more: Partial<Case> = {},
): Case => ({
  name,
  app: factory,
  steps: [{ request, expect }],
  ...more,
});

export const TEXT = 'text/plain; charset=utf-8';
export const HTML = 'text/html; charset=utf-8';
export const JSON_TYPE = 'application/json';
export const BIG = 'Starling '.repeat(200);
