import test from 'ava';
import * as status from '../src/status.ts';

test('HTTP status constants carry Starlette names and values', (t) => {
  t.is(status.HTTP_200_OK, 200);
  t.is(status.HTTP_404_NOT_FOUND, 404);
  t.is(status.HTTP_418_IM_A_TEAPOT, 418);
  t.is(status.HTTP_413_CONTENT_TOO_LARGE, 413);
  t.is(status.HTTP_422_UNPROCESSABLE_CONTENT, 422);
  t.is(status.HTTP_511_NETWORK_AUTHENTICATION_REQUIRED, 511);
  const names = Object.keys(status).filter((k) => /^HTTP_\d{3}_/.test(k));
  for (const name of names)
    t.is((status as unknown as Record<string, number>)[name], Number(name.slice(5, 8)), name);
});

test('old status names remain as aliases', (t) => {
  t.is(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, 413);
  t.is(status.HTTP_414_REQUEST_URI_TOO_LONG, 414);
  t.is(status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE, 416);
  t.is(status.HTTP_422_UNPROCESSABLE_ENTITY, 422);
});

test('WebSocket close codes cover 1000 to 1015 without 1004', (t) => {
  const ws = Object.keys(status).filter((k) => k.startsWith('WS_'));
  t.is(ws.length, 15);
  t.is(status.WS_1000_NORMAL_CLOSURE, 1000);
  t.is(status.WS_1008_POLICY_VIOLATION, 1008);
  t.is(status.WS_1011_INTERNAL_ERROR, 1011);
  t.is(status.WS_1015_TLS_HANDSHAKE, 1015);
  for (const name of ws)
    t.is((status as unknown as Record<string, number>)[name], Number(name.slice(3, 7)), name);
});

test('status phrases follow RFC 9110 and are empty for unknown codes', (t) => {
  t.is(status.statusPhrase(404), 'Not Found');
  t.is(status.statusPhrase(413), 'Content Too Large');
  t.is(status.statusPhrase(422), 'Unprocessable Content');
  t.is(status.statusPhrase(599), '');
  t.true(Object.isFrozen(status.STATUS_PHRASES));
});
