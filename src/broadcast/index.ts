/**
 * `starlingjs/broadcast`: publish/subscribe across processes and machines, for chat and live updates.
 * `memory://` needs nothing; `redis://` needs the optional peer `redis`, imported on `connect()`.
 *
 * @example
 * ```ts
 * import { Broadcast } from 'starlingjs/broadcast';
 * const broadcast = new Broadcast('redis://localhost:6379');
 * await broadcast.connect();
 * ```
 */
export { Broadcast } from './broadcast.ts';
export { Subscription, type BroadcastEvent } from './subscription.ts';
