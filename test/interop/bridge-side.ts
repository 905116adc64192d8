// The bridge's side of the interop tests: a real SQLite file with the Signal tables, an InteropClient, and an
// envelope handler that decrypts, deduplicates and records what arrived.
import assert from "node:assert/strict";
import type Database from "better-sqlite3";
import { pino } from "pino";
import type { Content } from "../../src/protocol/content.js";
import { decodeContent } from "../../src/protocol/content.js";
import { envelopeKey } from "../../src/protocol/envelope.js";
import type { Envelope } from "../../src/protocol/gen/interop_pb.js";
import { ensureLocalIdentity, SignalError, type SignalDeviceStore } from "../../src/protocol/signal/index.js";
import { decryptEnvelope, InteropClient, type InteropClientOptions, isAlreadyDecrypted } from "../../src/interop/index.js";
import { openDb, TempDir } from "../protocol/signal/helpers.js";
import type { ProviderKey } from "./gatekeeper-process.js";

export const DOMAIN = "example.org";
export const PROVIDER_ID = "test-bridge";

export interface Received {
  envelope: Envelope;
  content: Content;
  identityChanged: boolean;
}

export class BridgeSide {
  readonly dir = new TempDir();
  readonly db: Database.Database = openDb(this.dir.file("bridge.db"));
  readonly client: InteropClient;
  readonly stores = new Map<string, SignalDeviceStore>();
  readonly received: Received[] = [];
  readonly seen = new Set<string>();
  /** Envelopes that can never be decrypted: recorded, then acknowledged, as the bridge does. */
  readonly undecryptable: string[] = [];
  handled = 0;
  /** Set to make the handler throw (a transient storage failure) before it decrypts. */
  failNext = 0;

  constructor(url: string, key: ProviderKey, options: Partial<InteropClientOptions> = {}) {
    this.client = new InteropClient({
      url,
      providerId: PROVIDER_ID,
      providerKey: key.privateKey,
      log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
      localDevice: (uri) => this.stores.get(uri),
      connection: { backoff: { initialMs: 50, maxMs: 500 }, pingIntervalMs: 1000, pongTimeoutMs: 1000 },
      handlerRetry: { initialMs: 50, maxMs: 200 },
      sendTimeoutMs: 15_000,
      ...options,
    });
    this.client.onEnvelope((envelope) => this.handle(envelope));
  }

  /** A Matrix user of the bridge with its identity and uploaded keys. */
  async user(localpart: string, oneTimePreKeys = 20): Promise<SignalDeviceStore> {
    const uri = `matrix:u/${localpart}:${DOMAIN}`;
    const store = ensureLocalIdentity(this.db, uri, { deviceId: 1 });
    this.stores.set(uri, store);
    const counts = await this.client.uploadKeys(store, oneTimePreKeys);
    assert.equal(counts.devices[0]?.oneTimePreKeys, oneTimePreKeys);
    return store;
  }

  private async handle(envelope: Envelope): Promise<void> {
    this.handled++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("simulated storage failure");
    }
    const key = `${envelopeKey(envelope)}/${envelope.sender}/${envelope.senderDevice}`;
    if (this.seen.has(key)) return; // a redelivery: acknowledge again, do nothing else
    const store = this.stores.get(envelope.recipient);
    if (!store) throw new Error(`no local user ${envelope.recipient}`);
    try {
      await decryptEnvelope(store, envelope, (d) => {
        // The real bridge inserts into its inbox and seen_envelopes here, in the ratchet's transaction.
        this.seen.add(key);
        this.received.push({ envelope, content: decodeContent(d.plaintext), identityChanged: d.identityChanged });
      });
    } catch (err) {
      if (isAlreadyDecrypted(err)) return;
      if (err instanceof SignalError) {
        this.undecryptable.push(`${err.code}: ${err.message}`);
        return;
      }
      throw err;
    }
  }

  textsFrom(sender: string): string[] {
    return this.received
      .filter((r) => r.envelope.sender === sender && r.content.message?.conversation)
      .map((r) => r.content.message!.conversation);
  }

  async close(): Promise<void> {
    await this.client.stop();
    this.db.close();
    this.dir.remove();
  }
}
