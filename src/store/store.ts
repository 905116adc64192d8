// The bridge's store: one database (SQLite or PostgreSQL), one module per aggregate. Callers depend on this shape only.
import { type DatabaseTarget, openStoreDatabase } from "./database.js";
import { AppserviceQueue } from "./appservice-queue.js";
import { PuppetStore } from "./puppets.js";
import { PortalStore } from "./portals.js";
import { BridgeUserStore } from "./bridge-users.js";
import { MessageMapStore, type MappingLog } from "./message-map.js";
import { OutboxStore } from "./outbox.js";
import { InboxStore } from "./inbox.js";
import { ReactionStore, ReadMarkerStore } from "./reactions.js";
import { IdentityTrustStore } from "./identity-trust.js";
import { MessageRequestStore } from "./message-requests.js";
import { UserLimitStore } from "./user-limits.js";
import { ExcludedDeviceStore } from "./excluded-devices.js";
import { ContactStore } from "./contacts.js";
import { DisappearingStore } from "./disappearing.js";
import { PollStore } from "./polls.js";
import { PollVoteStore } from "./poll-votes.js";
import type { SqlDatabase } from "../sql/sql.js";

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
  readonly requests: MessageRequestStore;
  readonly limits: UserLimitStore;
  readonly excludedDevices: ExcludedDeviceStore;
  readonly contacts: ContactStore;
  readonly disappearing: DisappearingStore;
  readonly polls: PollStore;
  readonly pollVotes: PollVoteStore;

  constructor(
    readonly db: SqlDatabase,
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
    this.requests = new MessageRequestStore(db);
    this.limits = new UserLimitStore(db);
    this.excludedDevices = new ExcludedDeviceStore(db);
    this.contacts = new ContactStore(db);
    this.disappearing = new DisappearingStore(db);
    this.polls = new PollStore(db);
    this.pollVotes = new PollVoteStore(db);
  }

  /** A SQLite file path (or ":memory:"), or a `postgres://` URL. */
  static async open(target: string | DatabaseTarget, options: BridgeStoreOptions = {}): Promise<BridgeStore> {
    const resolved: DatabaseTarget = typeof target !== "string" ? target : isPostgresUrl(target) ? { url: target } : { path: target };
    return new BridgeStore(await openStoreDatabase(resolved), options);
  }

  /** Runs fn atomically; store calls made inside it (at any depth) join it, nested calls are savepoints. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export function isPostgresUrl(text: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(text);
}
