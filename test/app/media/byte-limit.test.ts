// Small bodies read whole (profile pictures) are cut off at their limit while they stream, over a real socket.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MediaTooLargeError, readAtMost } from "../../../src/app/media/byte-limit.js";

const LIMIT = 5 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 7);

describe("readAtMost over HTTP", () => {
  let server: Server;
  let base: string;
  /** Bytes the endless route managed to hand to its socket before the client went away. */
  let written = 0;
  let closed: Promise<void>;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/declared") {
        res.writeHead(200, { "content-type": "image/png", "content-length": String(LIMIT + 1) });
        res.end(); // the body never comes: the declared length alone must refuse it
        return;
      }
      if (req.url === "/small") {
        res.writeHead(200, { "content-type": "image/png" });
        res.end(Buffer.alloc(1000, 1));
        return;
      }
      // No length, and no end: a hostile or broken server streaming forever.
      res.writeHead(200, { "content-type": "image/png" });
      written = 0;
      closed = new Promise((resolve) => res.once("close", () => resolve()));
      const pump = () => {
        while (!res.destroyed && res.write(CHUNK)) written += CHUNK.length;
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("stops an endless body just past the limit without reading on", async () => {
    await assert.rejects(readAtMost(await fetch(`${base}/endless`), LIMIT), (e) => e instanceof MediaTooLargeError && e.limitBytes === LIMIT);
    await closed;
    // What the server pushed before it noticed: the limit plus what sockets and stream buffers hold, not gigabytes.
    assert.ok(written < LIMIT + 16 * 1024 * 1024, `server wrote ${written} bytes`);
    const settled = written;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(written, settled, "nothing more is sent once the client went away");
  });

  it("refuses by the declared length before reading, and reads a small body whole", async () => {
    await assert.rejects(readAtMost(await fetch(`${base}/declared`), LIMIT), MediaTooLargeError);
    const small = await readAtMost(await fetch(`${base}/small`), LIMIT);
    assert.equal(small.byteLength, 1000);
  });
});
