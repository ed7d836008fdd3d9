import { createServer } from 'node:net';

/** The only interface the local engines listen on. */
export const LOOPBACK_HOST = '127.0.0.1';

/**
 * Asks the OS for a free TCP port on 127.0.0.1 (listen on port 0, read it, close).
 *
 * The port is free when this resolves, not reserved: a process that needs it must
 * bind soon and be ready to retry on EADDRINUSE (see `startDynamoDbLocal`). Engines
 * that can listen on port 0 themselves (fauxqs) should do that instead.
 */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: LOOPBACK_HOST, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port the OS assigned (got ${String(address)})`));
        return;
      }
      const { port } = address;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}
