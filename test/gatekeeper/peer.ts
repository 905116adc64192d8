// The provider side of the gatekeeper tests: an enlisted provider (Ed25519 key, JWTs), a plain `ws` connection
// speaking interop frames, and Matrix users with real libsignal state, built from the shared protocol and signal
// modules only (no bridge code), so the tests exercise the gatekeeper over its real socket.
import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import Database from "better-sqlite3";
import { SqliteEngine } from "../../src/sql/engines/sqlite.js";
import { SignJWT } from "jose";
import WebSocket from "ws";
import { decodeContent, encodeContent, type Content } from "../../src/protocol/content.js";
import { makeEnvelope } from "../../src/protocol/envelope.js";
import { decodeServerFrame, encodeClientFrame, type ClientFrameInit } from "../../src/protocol/frames.js";
import { EnvelopeType, type Envelope, type SendResult, type ServerFrame } from "../../src/protocol/gen/interop_pb.js";
import { messageIdToString, newMessageId } from "../../src/protocol/message-id.js";
import type { DevicePreKeyBundle, PreKeyBundleResponse } from "../../src/protocol/signal/bundle.js";
import type { SignalDeviceStore } from "../../src/protocol/signal/device-store.js";
import { ensureLocalIdentity } from "../../src/protocol/signal/identity.js";
import { createDeviceKeysUpload } from "../../src/protocol/signal/prekeys.js";
import { SIGNAL_SCHEMA_SQL } from "../../src/protocol/signal/schema.js";
import { decryptFrom, encryptTo, sessionRegistrationId, startSessionFromBundle } from "../../src/protocol/signal/sessions.js";
import { matrixUri } from "../../src/protocol/uri.js";

export class TestProvider {
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  constructor(
    readonly id: string,
    readonly domain: string,
    readonly baseUrl: () => string,
  ) {
    const pair = generateKeyPairSync("ed25519");
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey.export({ format: "jwk" }).x!;
  }

  /** A JWT for this provider (sub = provider id) or one of its users, addressed to the gatekeeper at baseUrl, with a
   * fresh jti; options let tests break it on purpose (`jti: null` leaves it out). */
  async token(
    options: { sub?: string; lifetimeSeconds?: number; issuedAgoSeconds?: number; audience?: string; issuer?: string; key?: KeyObject; noExp?: boolean; jti?: string | null } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000) - (options.issuedAgoSeconds ?? 0);
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA" })
      .setIssuer(options.issuer ?? this.id)
      .setSubject(options.sub ?? this.id)
      .setAudience(options.audience ?? this.baseUrl())
      .setIssuedAt(now);
    if (options.jti !== null) jwt.setJti(options.jti ?? randomUUID());
    if (!options.noExp) jwt.setExpirationTime(now + (options.lifetimeSeconds ?? 300));
    return jwt.sign(options.key ?? this.privateKey);
  }

  async http(method: string, path: string, options: { body?: unknown; raw?: Uint8Array; sub?: string; token?: string; contentType?: string } = {}): Promise<Response> {
    const token = options.token ?? (await this.token(options.sub === undefined ? {} : { sub: options.sub }));
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let body: string | Buffer | undefined;
    if (options.raw) {
      headers["content-type"] = options.contentType ?? "application/octet-stream";
      body = Buffer.from(options.raw);
    } else if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    return fetch(`${this.baseUrl()}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  }

  async json<T>(method: string, path: string, options: Parameters<TestProvider["http"]>[2] = {}): Promise<T> {
    const res = await this.http(method, path, options);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  async connect(token?: string): Promise<ProviderConnection> {
    const ws = new WebSocket(`${this.baseUrl().replace(/^http/, "ws")}/v1/ws`, { headers: { authorization: `Bearer ${token ?? (await this.token())}` } });
    const conn = new ProviderConnection(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return conn;
  }

  user(localpart: string): Promise<TestMatrixUser> {
    return TestMatrixUser.create(this, matrixUri(`@${localpart}:${this.domain}`));
  }
}

export class ProviderConnection {
  readonly frames: ServerFrame[] = [];
  private waiters: { predicate: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  private seq = 0n;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const frame = decodeServerFrame(new Uint8Array(data));
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.predicate(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  sendFrame(frame: ClientFrameInit): void {
    this.ws.send(encodeClientFrame(frame));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Resolves with the first frame (already received or coming) that matches. */
  waitFor(predicate: (f: ServerFrame) => boolean, timeoutMs = 10_000, fromIndex = 0): Promise<ServerFrame> {
    const seen = this.frames.slice(fromIndex).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${this.frames.map((f) => f.kind.case).join(", ")}`)), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  async send(envelopes: Envelope[]): Promise<SendResult> {
    const seq = ++this.seq;
    this.sendFrame({ kind: { case: "send", value: { seq, envelopes } } });
    const frame = await this.waitFor((f) => f.kind.case === "sendResult" && f.kind.value.seq === seq);
    return frame.kind.value as SendResult;
  }

  deliveries(): Envelope[] {
    return this.frames.flatMap((f) => (f.kind.case === "deliver" && f.kind.value.envelope ? [f.kind.value.envelope] : []));
  }

  waitForDelivery(predicate: (e: Envelope) => boolean, timeoutMs = 10_000): Promise<Envelope> {
    return this.waitFor((f) => f.kind.case === "deliver" && !!f.kind.value.envelope && predicate(f.kind.value.envelope), timeoutMs).then(
      (f) => (f.kind.value as { envelope: Envelope }).envelope,
    );
  }

  ack(e: Envelope): void {
    this.sendFrame({ kind: { case: "ack", value: { id: e.id, recipient: e.recipient, recipientDevice: e.recipientDevice } } });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}

export interface Sent {
  id: string;
  result: SendResult;
  identityChanged: boolean;
  envelopes: Envelope[];
}

/** A Matrix user as the bridge would hold it: one interop device with real Signal state in its own SQLite. */
export class TestMatrixUser {
  readonly deviceId = 1;
  private constructor(
    readonly provider: TestProvider,
    readonly uri: string,
    readonly db: SqliteEngine,
    readonly store: SignalDeviceStore,
  ) {}

  static async create(provider: TestProvider, uri: string): Promise<TestMatrixUser> {
    const raw = new Database(":memory:");
    raw.exec(SIGNAL_SCHEMA_SQL);
    const db = new SqliteEngine(raw);
    return new TestMatrixUser(provider, uri, db, await ensureLocalIdentity(db, uri, { deviceId: 1 }));
  }

  async uploadKeys(oneTimePreKeys = 20): Promise<void> {
    const uow = await this.store.begin();
    const upload = await createDeviceKeysUpload(uow, { oneTimePreKeys });
    await uow.commit();
    await this.provider.json("PUT", `/v1/keys/${encodeURIComponent(this.uri)}`, { body: { devices: [upload] }, sub: this.uri });
  }

  async bundles(to: string, deviceId?: number): Promise<DevicePreKeyBundle[]> {
    const q = deviceId === undefined ? "" : `?device=${deviceId}`;
    return (await this.provider.json<PreKeyBundleResponse>("GET", `/v1/keys/${encodeURIComponent(to)}${q}`)).devices;
  }

  /** Encrypts `content` for the given devices of `to` (fetching bundles where there is no session for the
   * device's current registration) and sends them as one Send. */
  async send(conn: ProviderConnection, to: string, content: Content, options: { devices?: { deviceId: number; registrationId: number }[]; id?: Uint8Array } = {}): Promise<Sent> {
    const devices = options.devices ?? (await this.provider.json<{ devices: { deviceId: number; registrationId: number }[] }>("GET", `/v1/directory/${encodeURIComponent(to)}`)).devices;
    const id = options.id ?? newMessageId();
    const plaintext = encodeContent(content);
    let identityChanged = false;
    const uow = await this.store.begin();
    const envelopes: Envelope[] = [];
    for (const d of devices) {
      const address = { uri: to, deviceId: d.deviceId };
      if (await sessionRegistrationId(uow, address) !== d.registrationId) {
        const [bundle] = await this.bundles(to, d.deviceId);
        if (bundle) identityChanged = (await startSessionFromBundle(uow, address, bundle)).identityChanged || identityChanged;
      }
      const enc = await encryptTo(uow, address, plaintext);
      envelopes.push(
        makeEnvelope({
          id,
          timestampMs: BigInt(Date.now()),
          sender: this.uri,
          senderDevice: this.deviceId,
          recipient: to,
          recipientDevice: d.deviceId,
          type: enc.type === "prekey" ? EnvelopeType.PREKEY_MESSAGE : EnvelopeType.MESSAGE,
          ciphertext: enc.ciphertext,
          recipientRegistrationId: enc.remoteRegistrationId,
        }),
      );
    }
    const result = await conn.send(envelopes);
    // Like the bridge: the ratchet state is kept only when the gatekeeper took the message.
    if (result.ok) await uow.commit();
    else uow.discard();
    return { id: messageIdToString(id), result, identityChanged, envelopes };
  }

  async decrypt(e: Envelope): Promise<{ content: Content; identityChanged: boolean }> {
    const uow = await this.store.begin();
    const out = await decryptFrom(uow, { uri: e.sender, deviceId: e.senderDevice }, e.type === EnvelopeType.PREKEY_MESSAGE ? "prekey" : "message", e.ciphertext);
    await uow.commit();
    return { content: decodeContent(out.plaintext), identityChanged: out.identityChanged };
  }
}
