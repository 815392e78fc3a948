import { createServer } from 'node:net';

/**
 * A port that was free a moment ago. Prefer passing port 0 and reading the bound address from the
 * component's `listening` log; use this only for programs that cannot report their port (mariadbd).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
