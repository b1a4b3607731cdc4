/**
 * `ScopeSocket`: what a wrapped Node handler finds at `req.socket` and `res.socket`. No bytes flow
 * through it (the ASGI server owns the connection); it carries the addresses of the scope, and its
 * `destroy()` is how a Node handler cuts a connection.
 */
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import type { HTTPScope } from '../../asgi.ts';

function family(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  return host.includes(':') ? 'IPv6' : 'IPv4';
}

/** A stand-in for `net.Socket` (a real Duplex, so `stream.finished` and `on-finished` work on it). */
export class ScopeSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** Set over TLS, as on a `tls.TLSSocket` (Express's `req.protocol` and `req.secure` read it). */
  readonly encrypted: true | undefined;
  readonly #onDestroy: (error: Error | null) => void;

  /** `onDestroy` learns of every `destroy()`, the handler's own or Node's on its behalf. */
  constructor(scope: HTTPScope, onDestroy: (error: Error | null) => void) {
    super();
    [this.remoteAddress, this.remotePort] = scope.client ?? [];
    [this.localAddress, this.localPort] = scope.server ?? [];
    this.remoteFamily = family(this.remoteAddress);
    this.encrypted = scope.scheme === 'https' ? true : undefined;
    this.#onDestroy = onDestroy;
  }

  override _read(): void {}

  override _write(
    _chunk: unknown,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#onDestroy(error);
    // The error went to the exchange; emitting it here would crash a process with no listener.
    callback(null);
  }

  address(): AddressInfo | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, port: this.localPort, family: family(this.localAddress)! };
  }

  // net.Socket's tuning calls, which mean nothing here.
  setTimeout(_ms: number, _callback?: () => void): this {
    return this;
  }
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }
  setKeepAlive(_enable?: boolean, _delay?: number): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
