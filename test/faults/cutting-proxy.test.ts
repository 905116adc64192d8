// The proxy the fault suite puts before the gatekeeper really cuts a WebSocket inside a frame, in the direction asked
// for: the receiver is left with a byte count that is not a whole number of frames. Raw sockets on both ends, so the
// bytes are counted as they came, with frames of a known size.
import assert from "node:assert/strict";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { CuttingProxy } from "./cutting-proxy.js";

const FRAME = 1000;

/** A binary frame of exactly FRAME bytes (16-bit length), masked as a client's must be. */
function frame(masked: boolean): Buffer {
  const header = masked ? Buffer.from([0x82, 0x80 | 126, 0, 0, 1, 2, 3, 4]) : Buffer.from([0x82, 126, 0, 0]);
  header.writeUInt16BE(FRAME - header.length, 2);
  return Buffer.concat([header, Buffer.alloc(FRAME - header.length, 7)]);
}

interface Ends {
  proxy: CuttingProxy;
  upstream: Server;
  /** Bytes each end got after the HTTP upgrade. */
  atServer: () => number;
  atClient: () => number;
  serverSide: Promise<Socket>;
  client: Socket;
  closed: Promise<void>;
}

async function connectThrough(): Promise<Ends> {
  const proxy = await CuttingProxy.start();
  let atServer = 0;
  let atClient = 0;
  let resolveServer!: (s: Socket) => void;
  const serverSide = new Promise<Socket>((r) => (resolveServer = r));
  const upstream = createServer((s) => {
    let head = "";
    s.on("error", () => {});
    s.on("data", (chunk: Buffer) => {
      if (head.includes("\r\n\r\n")) {
        atServer += chunk.length;
        return;
      }
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        resolveServer(s);
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  proxy.setUpstream(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  const client = connect(Number(new URL(proxy.url).port), "127.0.0.1");
  client.on("error", () => {});
  const closed = new Promise<void>((r) => client.once("close", () => r()));
  let upgraded = false;
  let response = "";
  client.on("data", (chunk: Buffer) => {
    if (upgraded) {
      atClient += chunk.length;
      return;
    }
    response += chunk.toString("latin1");
    const end = response.indexOf("\r\n\r\n");
    if (end >= 0) {
      upgraded = true;
      atClient += Buffer.byteLength(response.slice(end + 4), "latin1");
    }
  });
  client.write("GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  return { proxy, upstream, atServer: () => atServer, atClient: () => atClient, serverSide, client, closed };
}

describe("fault suite: the proxy that cuts WebSockets mid-frame", function () {
  this.timeout(20_000);

  for (const direction of ["to-bridge", "to-gatekeeper"] as const) {
    it(`cuts a frame ${direction === "to-bridge" ? "from the gatekeeper to the bridge" : "from the bridge to the gatekeeper"} and closes both sides`, async () => {
      const e = await connectThrough();
      const server = await e.serverSide;
      // Both ends keep sending, so a chunk comes by in either direction; only the asked one may be cut.
      const timer = setInterval(() => {
        server.write(frame(false));
        e.client.write(frame(true));
      }, 5);
      try {
        const cut = await e.proxy.cutMidFrame(direction, 5000);
        await e.closed;
        assert.ok(cut, "a cut was made");
        assert.equal(cut.direction, direction);
        assert.equal(cut.opcode, 2);
        assert.equal(cut.frameLength, FRAME);
        assert.ok(cut.forwarded < FRAME, `${cut.forwarded} of ${FRAME} bytes went through`);
        const received = direction === "to-bridge" ? e.atClient() : e.atServer();
        assert.notEqual(received % FRAME, 0, `the receiver got ${received} bytes: a frame is unfinished`);
        assert.equal(received % FRAME, cut.forwarded % FRAME);
      } finally {
        clearInterval(timer);
        server.destroy();
        await e.proxy.close();
        await new Promise<void>((r) => e.upstream.close(() => r()));
      }
    });
  }

  it("says so when no frame came by to cut", async () => {
    const e = await connectThrough();
    const server = await e.serverSide;
    try {
      assert.equal(await e.proxy.cutMidFrame("to-bridge", 300), undefined);
    } finally {
      server.destroy();
      e.client.destroy();
      await e.proxy.close();
      await new Promise<void>((r) => e.upstream.close(() => r()));
    }
  });
});
