// The bridge's side of the interop tests: the bridge's own database (BridgeStore over a real SQLite file), an
// InteropClient, and the production envelope handler (InteropRemoteNetwork.receive: decrypts, deduplicates, queues
// in the inbox in the ratchet's transaction, refuses or drops what it must). The inbox is read back the way the
// core's inbox worker consumes it, lane head by lane head, into `received`.
import assert from "node:assert/strict";
import { pino } from "pino";
import { BRIDGE_DEVICE_ID, InteropRemoteNetwork } from "../../src/app/interop-side.js";
import type { Content } from "../../src/protocol/content.js";
import { decodeContent } from "../../src/protocol/content.js";
import { ensureLocalIdentity, type SignalDeviceStore } from "../../src/protocol/signal/index.js";
import { matrixUri } from "../../src/protocol/uri.js";
import { InteropClient, type InteropClientOptions } from "../../src/interop/index.js";
import type { InboxEntry } from "../../src/store/inbox.js";
import { BridgeStore } from "../../src/store/store.js";
import { TempDir } from "../protocol/signal/helpers.js";
import type { ProviderKey } from "./gatekeeper-process.js";
import { testDatabaseEngine, testDatabaseUrl } from "../support/test-database.js";

export const DOMAIN = "example.org";
export const PROVIDER_ID = "test-bridge";

export interface Received {
  entry: InboxEntry;
  /** The sender's URI (tel:+...). */
  sender: string;
  content: Content;
  identityChanged: boolean;
}

export class BridgeSide {
  readonly dir: TempDir;
  readonly store: BridgeStore;
  readonly client: InteropClient;
  readonly network: InteropRemoteNetwork;
  readonly received: Received[] = [];
  /** Envelopes that can never be decrypted: the handler queues them empty so that the user is told one was lost. */
  readonly undecryptable: InboxEntry[] = [];
  handled = 0;
  /** Set to make the handler throw (a transient storage failure) before the production handler runs. */
  failNext = 0;

  /** `restartOf`: a bridge whose database this one opens again (its client stopped), as after a restart. */
  static async open(url: string, key: ProviderKey, options: Partial<InteropClientOptions> = {}, restartOf?: BridgeSide): Promise<BridgeSide> {
    const dir = restartOf?.dir ?? new TempDir();
    const database = restartOf?.database ?? (testDatabaseEngine() === "postgres" ? await testDatabaseUrl() : dir.file("bridge.db"));
    return new BridgeSide(url, key, dir, database, await BridgeStore.open(database), options, restartOf);
  }

  private constructor(
    url: string,
    key: ProviderKey,
    dir: TempDir,
    /** The store's file or PostgreSQL URL, which a restart opens again. */
    readonly database: string,
    store: BridgeStore,
    options: Partial<InteropClientOptions>,
    private readonly restartOf?: BridgeSide,
  ) {
    this.dir = dir;
    this.store = store;
    const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
    this.client = new InteropClient({
      url,
      providerId: PROVIDER_ID,
      providerKey: key.privateKey,
      log,
      localDevice: (uri) => this.network.deviceStore(uri),
      connection: { backoff: { initialMs: 50, maxMs: 500 }, pingIntervalMs: 1000, pongTimeoutMs: 1000 },
      handlerRetry: { initialMs: 50, maxMs: 200 },
      sendTimeoutMs: 15_000,
      ...options,
    });
    this.network = new InteropRemoteNetwork("WhatsApp", this.client, this.store, log, () => void this.drainInbox());
    this.client.onEnvelope(async (envelope) => {
      this.handled++;
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error("simulated storage failure");
      }
      await this.network.receive(envelope);
    });
  }

  /**
   * A Matrix user of the bridge with its interop identity and `oneTimePreKeys` uploaded prekeys, registered as the
   * bridge registers it (the network's ensureIdentity uploads the client's prekeyTarget; tests choose the count).
   */
  async user(localpart: string, oneTimePreKeys = 20): Promise<SignalDeviceStore> {
    const userId = `@${localpart}:${DOMAIN}`;
    const uri = matrixUri(userId);
    await this.store.users.ensure(userId, uri);
    const counts = await this.client.uploadKeys(await ensureLocalIdentity(this.store.db, uri, { deviceId: BRIDGE_DEVICE_ID }), oneTimePreKeys);
    assert.equal(counts.devices[0]?.oneTimePreKeys, oneTimePreKeys);
    await this.store.users.markKeysUploaded(userId);
    await this.network.ensureIdentity(userId);
    // The network's own store of the device, the one its handler decrypts with: sends and receives share it.
    const device = await this.network.deviceStore(uri);
    assert.ok(device, "the identity is in the bridge database");
    return device;
  }

  /** Takes what the handler queued off the inbox, in each lane's order, as the core's inbox worker does. */
  private draining: Promise<void> | undefined;
  private drainAgain = false;

  /** One drain at a time (as the bridge's queue worker runs): two overlapping drains would both read the same heads. */
  private async drainInbox(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = (async () => {
      do {
        this.drainAgain = false;
        await this.drainOnce();
      } while (this.drainAgain);
    })().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    for (let heads = await this.store.inbox.heads(); heads.length > 0; heads = await this.store.inbox.heads()) {
      for (const entry of heads) {
        if (entry.content.length === 0) this.undecryptable.push(entry);
        else this.received.push({ entry, sender: entry.remoteUri, content: decodeContent(entry.content), identityChanged: entry.identityChanged });
        await this.store.inbox.remove(entry.seq);
      }
    }
  }

  textsFrom(sender: string): string[] {
    return this.received.filter((r) => r.sender === sender && r.content.message?.conversation).map((r) => r.content.message!.conversation);
  }

  async close(): Promise<void> {
    await this.client.stop();
    await this.store.close();
    if (!this.restartOf) this.dir.remove();
  }
}
