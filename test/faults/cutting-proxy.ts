// A TCP proxy between the bridge and the gatekeeper that can cut a WebSocket in the middle of a frame. Killing the
// gatekeeper process alone closes the socket wherever the kernel is, which on loopback is nearly always between two
// frames (each frame goes out in one write). The proxy follows the frames of every upgraded connection in both
// directions, and when asked to cut it forwards the next chunk only up to a byte inside a frame, then destroys both
// sides: the receiver holds a frame it can never finish.
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

export type CutDirection = "to-gatekeeper" | "to-bridge";

export interface Cut {
  direction: CutDirection;
  /** The WebSocket opcode of the frame that was cut (2: binary, 9: ping, 10: pong, 8: close). */
  opcode: number;
  /** Bytes of that frame the receiver got, and the frame's full length. */
  forwarded: number;
  frameLength: number;
}

/** Where frames begin and end in one direction of an upgraded connection. */
class FrameTracker {
  /** Bytes of a frame header seen so far (the header is at most 14 bytes). */
  private header: number[] = [];
  /** Bytes of the current frame still to come after its header; -1 while the header is incomplete. */
  private remaining = -1;
  private opcode = 0;
  private frameLength = 0;
  private frameSeen = 0;

  /** Feeds a chunk; returns the offsets (1..length) at which a frame ends inside it. */
  feed(chunk: Uint8Array): number[] {
    const ends: number[] = [];
    for (let i = 0; i < chunk.length; ) {
      if (this.remaining < 0) {
        this.header.push(chunk[i++]!);
        this.frameSeen++;
        const total = headerLength(this.header);
        if (total !== undefined && this.header.length === total) {
          this.opcode = this.header[0]! & 0x0f;
          const payload = payloadLength(this.header);
          this.frameLength = total + payload;
          this.remaining = payload;
          this.header = [];
        }
        if (this.remaining === 0) {
          ends.push(i);
          this.reset();
        }
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      i += take;
      this.remaining -= take;
      this.frameSeen += take;
      if (this.remaining === 0) {
        ends.push(i);
        this.reset();
      }
    }
    return ends;
  }

  /** The frame in progress after the last feed (for the report), or undefined between frames. */
  get current(): { opcode: number; seen: number; length: number } | undefined {
    return this.frameSeen === 0 ? undefined : { opcode: this.opcode, seen: this.frameSeen, length: this.frameLength };
  }

  private reset(): void {
    this.remaining = -1;
    this.frameSeen = 0;
    this.frameLength = 0;
  }
}

function headerLength(h: readonly number[]): number | undefined {
  if (h.length < 2) return undefined;
  const len7 = h[1]! & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1]! & 0x80 ? 4 : 0);
}

function payloadLength(h: readonly number[]): number {
  const len7 = h[1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (h[2]! << 8) | h[3]!;
  let n = 0;
  for (let i = 2; i < 10; i++) n = n * 256 + h[i]!;
  return n;
}

interface Pipe {
  direction: CutDirection;
  from: Socket;
  to: Socket;
  /** Set once the HTTP upgrade is through (101 from the gatekeeper). */
  frames: FrameTracker | undefined;
}

interface Armed {
  direction: CutDirection | undefined;
  done: (cut: Cut) => void;
}

export class CuttingProxy {
  private upstreamPort = 0;
  private readonly sockets = new Set<Socket>();
  private armed: Armed | undefined;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<CuttingProxy> {
    const server = createServer();
    const proxy = new CuttingProxy(server);
    server.on("connection", (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Where connections go (the gatekeeper's port; a restart on the same port keeps it). */
  setUpstream(url: string): void {
    this.upstreamPort = Number(new URL(url).port);
  }

  /**
   * Cuts the next WebSocket chunk that comes by (in `prefer`'s direction if one comes within half the wait, else in
   * either) inside a frame, and closes every connection. Resolves with the cut, or undefined if no WebSocket traffic
   * came within `waitMs`.
   */
  async cutMidFrame(prefer: CutDirection, waitMs: number): Promise<Cut | undefined> {
    return new Promise((resolve) => {
      const widen = setTimeout(() => this.armed && (this.armed.direction = undefined), waitMs / 2);
      const giveUp = setTimeout(() => {
        this.armed = undefined;
        resolve(undefined);
      }, waitMs);
      this.armed = {
        direction: prefer,
        done: (cut) => {
          clearTimeout(widen);
          clearTimeout(giveUp);
          resolve(cut);
        },
      };
    });
  }

  async close(): Promise<void> {
    this.armed = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = connect(this.upstreamPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      // A peer that went away (the gatekeeper killed) takes its partner with it, as a cut network would.
      s.on("error", () => {});
      s.on("close", () => (s === client ? upstream : client).destroy());
    }
    const up: Pipe = { direction: "to-gatekeeper", from: client, to: upstream, frames: undefined };
    const down: Pipe = { direction: "to-bridge", from: upstream, to: client, frames: undefined };
    let response = "";
    upstream.on("data", (chunk: Buffer) => {
      if (!down.frames) {
        // The 101 response ends with a blank line; anything after it is already WebSocket frames.
        response += chunk.toString("latin1");
        const end = response.indexOf("\r\n\r\n");
        if (end >= 0 && /^HTTP\/1\.1 101/.test(response)) {
          up.frames = new FrameTracker();
          down.frames = new FrameTracker();
          const headerBytes = Buffer.byteLength(response.slice(0, end + 4), "latin1");
          const before = response.length - chunk.length;
          const rest = chunk.subarray(headerBytes - before);
          client.write(chunk.subarray(0, headerBytes - before));
          if (rest.length > 0) this.forward(down, rest);
          return;
        }
        if (end >= 0) response = "";
        client.write(chunk);
        return;
      }
      this.forward(down, chunk);
    });
    client.on("data", (chunk: Buffer) => (up.frames ? this.forward(up, chunk) : upstream.write(chunk)));
  }

  private forward(pipe: Pipe, chunk: Buffer): void {
    const frames = pipe.frames!;
    const armed = this.armed;
    const before = frames.current;
    const ends = frames.feed(chunk);
    if (!armed || (armed.direction !== undefined && armed.direction !== pipe.direction)) {
      pipe.to.write(chunk);
      return;
    }
    this.armed = undefined;
    // A cut strictly before the first frame end in this chunk lies inside that frame (frames are at least 2 bytes,
    // so there is such a byte when the chunk starts a frame; when it continues one, even 0 bytes leave it unfinished).
    const firstEnd = ends[0] ?? chunk.length + 1;
    const lo = before ? 0 : 1;
    const at = lo + Math.floor(Math.random() * (Math.min(firstEnd, chunk.length + 1) - lo));
    const frame = describeCut(before, chunk, at);
    pipe.to.write(chunk.subarray(0, at), () => {
      for (const s of this.sockets) s.destroy();
      armed.done({ direction: pipe.direction, ...frame });
    });
  }
}

function describeCut(before: { opcode: number; seen: number; length: number } | undefined, chunk: Buffer, at: number): Omit<Cut, "direction"> {
  // A header still incomplete gives no length yet: what came is a lower bound.
  if (before) return { opcode: before.opcode, forwarded: before.seen + at, frameLength: before.length > 0 ? before.length : before.seen + chunk.length };
  // The frame starts this chunk: read its header from the chunk (it may itself be cut short).
  const header = [...chunk.subarray(0, 14)];
  const total = headerLength(header);
  const frameLength = total !== undefined && header.length >= total ? total + payloadLength(header) : chunk.length;
  return { opcode: chunk[0]! & 0x0f, forwarded: at, frameLength };
}
