// Raw HTTP/1.1 over node:net for the gatekeeper's security tests: fetch() normalises URLs (dot segments, case of
// escapes, absolute form), so the exact request target an attacker would send can only be written by hand.
import { connect } from "node:net";

export interface RawAnswer {
  status: number;
  body: string;
  raw: string;
}

/** Sends one request with `Connection: close` and reads the whole answer. */
export function rawRequest(
  port: number,
  method: string,
  target: string,
  options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const body = options.body ?? "";
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, connection: "close", ...options.headers };
  if (body) {
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(Buffer.byteLength(body));
  }
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${method} ${target} within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    // write, not end: node's server drops a request still in its handler when the client half-closes.
    socket.on("connect", () => socket.write(head + body));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
      resolve({ status, body: raw.slice(raw.indexOf("\r\n\r\n") + 4), raw });
    });
  });
}

/** A WebSocket upgrade request, written by hand; answers the status line's code (101 when upgraded). */
export async function rawUpgrade(port: number, target: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${target}`));
    }, 5000);
    socket.on("connect", () =>
      socket.write(
        `GET ${target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n` +
          `sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`,
      ),
    );
    socket.on("data", (c) => {
      text += c.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(0);
    });
  });
}
