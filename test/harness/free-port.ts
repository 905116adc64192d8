import net from "node:net";

/**
 * Asks the OS for a TCP port that is free on 127.0.0.1 right now. Another process could take it before the
 * caller binds it; on a test machine that window is small enough to accept.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("the OS returned no TCP port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
