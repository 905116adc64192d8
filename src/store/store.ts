// The bridge's store: one database, one module per aggregate. Callers depend on this shape only.
import { openDatabase, type SqliteDb } from "./database.js";
import { AppserviceQueue } from "./appservice-queue.js";
import { PuppetStore } from "./puppets.js";
import { PortalStore } from "./portals.js";
import { BridgeUserStore } from "./bridge-users.js";
import { MessageMapStore, type MappingLog } from "./message-map.js";
import { OutboxStore } from "./outbox.js";
import { InboxStore } from "./inbox.js";
import { ReactionStore, ReadMarkerStore } from "./reactions.js";
import { IdentityTrustStore } from "./identity-trust.js";

export interface BridgeStoreOptions {
  /** Where the store reports what it refused (a message ID reused by a remote). */
  log?: MappingLog;
}

export class BridgeStore {
  readonly appservice: AppserviceQueue;
  readonly puppets: PuppetStore;
  readonly portals: PortalStore;
  readonly users: BridgeUserStore;
  readonly messages: MessageMapStore;
  readonly outbox: OutboxStore;
  readonly inbox: InboxStore;
  readonly reactions: ReactionStore;
  readonly readMarkers: ReadMarkerStore;
  readonly identityTrust: IdentityTrustStore;

  constructor(
    readonly db: SqliteDb,
    options: BridgeStoreOptions = {},
  ) {
    this.appservice = new AppserviceQueue(db);
    this.puppets = new PuppetStore(db);
    this.portals = new PortalStore(db);
    this.users = new BridgeUserStore(db);
    this.messages = new MessageMapStore(db, options.log);
    this.outbox = new OutboxStore(db);
    this.inbox = new InboxStore(db);
    this.reactions = new ReactionStore(db);
    this.readMarkers = new ReadMarkerStore(db);
    this.identityTrust = new IdentityTrustStore(db);
  }

  static open(path: string, options: BridgeStoreOptions = {}): BridgeStore {
    return new BridgeStore(openDatabase(path), options);
  }

  /** Runs fn atomically; nested calls join the outer transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
