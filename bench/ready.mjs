// The handshake every benchmark server makes: it prints `READY <port>` once it listens.

/** Resolves with the port `child` announces; rejects if it exits (or errs) first, or stays silent. */
export function readyPort(child, name, ms = 60_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited ${code} before READY`)));
    setTimeout(() => reject(new Error(`${name} printed no READY within ${ms / 1000} s`)), ms).unref();
  });
}
