/**
 * The shared behaviour cases: each is a tiny Starling app, the requests a client makes to it, and what
 * must come back. `cases.spec.ts` runs every case through the in-process `TestClient`, the `TestClient` on
 * the native core (`transport: 'native'`) and a real socket (`serve()` + `fetch`), so the paths cannot
 * drift apart. One file a section: routing, requests, responses, exceptions, middleware, and the rest
 * (background tasks, lifespan, static files).
 *
 * Expectations may depend on the run (`ctx`): the TestClient talks to `http://testserver` from
 * `testclient:50000`, a real client to `http://127.0.0.1:<port>` from `127.0.0.1`.
 */
import type { Case } from './case.ts';
import { exceptionCases } from './exceptions.ts';
import { middlewareCases } from './middleware.ts';
import { otherCases } from './other.ts';
import { requestCases } from './requests.ts';
import { responseCases } from './responses.ts';
import { routingCases } from './routing.ts';

export type * from './case.ts';
export { fixtures } from './fixtures.ts';
export { exceptionCases, middlewareCases, otherCases, requestCases, responseCases, routingCases };

export const cases: Case[] = [
  ...routingCases,
  ...requestCases,
  ...responseCases,
  ...exceptionCases,
  ...middlewareCases,
  ...otherCases,
];
