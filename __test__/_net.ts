/**
 * Raw-socket helpers for server tests: write exact bytes, read what comes back, with bounded waits.
 */
import net from 'node:net';

/** Opens a TCP connection to 127.0.0.1:port. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects everything the peer sends until it closes the socket or `ms` pass. */
export function readAll(socket: net.Socket, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => finish(), ms);
    const finish = () => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve(out);
    };
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.once('close', finish);
    socket.once('error', finish);
  });
}

/** Reads until `predicate(text)` holds, the socket closes, or `ms` pass. */
export function readUntil(
  socket: net.Socket,
  predicate: (text: string) => boolean,
  ms = 3000,
): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => finish(), ms);
    const onData = (d: Buffer) => {
      out += d.toString('latin1');
      if (predicate(out)) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', finish);
      resolve(out);
    };
    socket.on('data', onData);
    socket.once('close', finish);
  });
}

/** Sends `request` on a fresh connection and returns the whole reply (server closes or timeout). */
export async function exchange(port: number, request: string | Buffer, ms = 3000): Promise<string> {
  const socket = await connect(port);
  const reply = readAll(socket, ms);
  socket.write(request);
  const text = await reply;
  socket.destroy();
  return text;
}

/** Counts complete HTTP responses (by status line) in a reply. */
export function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.[01] \d{3}[^\r\n]*/g) ?? [];
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
