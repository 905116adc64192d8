// Synapse drops the events it had accepted but not yet put into an appservice transaction when it restarts: it has
// moved its stream position past them and holds them in memory only (element-hq/synapse#11637). A message a user sent
// in the second before a homeserver restart then never reaches the bridge, and nothing tells the bridge so. The fault
// suite lost messages this way. So the bridge goes and looks: once the homeserver answers again after an outage, it
// reads the recent history of every portal and management room and queues what never came, in the room's order and
// before what reached it after the outage (those entries are held until their room has been read).
import type { Logger } from "pino";
import type { MatrixEvent } from "../core/events.js";
import { CRYPTO_LANE, type QueuedInbound } from "../store/appservice-queue.js";
import type { BridgeStore } from "../store/store.js";

/** A room to read after an outage, and a member who may read it (the portal's puppet, the bot). */
export interface CatchUpRoom {
  readonly roomId: string;
  readonly reader: string;
}

export interface CatchUpOptions {
  store: BridgeStore;
  /** One attempt to reach the homeserver. */
  probe(): Promise<boolean>;
  rooms(): Promise<CatchUpRoom[]>;
  /** The room's events since `sinceTs` (the homeserver's timestamps), oldest first. */
  history(room: CatchUpRoom, sinceTs: number): Promise<MatrixEvent[]>;
  /** Whether the inbound worker is handling an entry of this room now. */
  busy(roomId: string): boolean;
  /** Entries of a room were released or queued: the inbound worker should look. */
  kick(): void;
  log: Logger;
  /** How often the homeserver is probed (default 2 s: a Synapse restart takes a few seconds). */
  intervalMs?: number;
  /** How far back before the outage is read (default 10 min: events can wait that long in Synapse's memory while
   * the bridge is slow or down, e.g. replaying a backlog). */
  windowMs?: number;
  /** Rooms read at once. */
  concurrency?: number;
}

interface Outage {
  /** Read history from here on (the homeserver's clock). */
  since: number;
  /** Entries queued up to here came before the outage was noticed and need not wait. */
  afterSeq: number;
}

export class HomeserverCatchUp {
  #outage: Outage | undefined;
  /** Rooms still to be read in this catch-up; undefined while the list is not made (every room waits). */
  #pending: Set<string> | undefined;
  readonly #reading = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = true;
  /** Set by a new outage during a catch-up: what that catch-up read may already be out of date. */
  #interrupted = false;
  #noting: Promise<void> | undefined;

  constructor(private readonly options: CatchUpOptions) {}

  /** Picks up a catch-up a restart of the bridge interrupted, and starts probing. */
  async start(): Promise<void> {
    this.#outage = await this.options.store.appservice.catchUpState();
    if (this.#outage) this.options.log.info({ since: new Date(this.#outage.since).toISOString() }, "resuming the catch-up after a homeserver outage");
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking;
    await this.#noting;
  }

  /** Whether the inbound worker must leave this entry for now: its room may miss earlier events not read yet. */
  holds(item: QueuedInbound): boolean {
    const outage = this.#outage;
    if (!outage || item.roomId === null || item.roomId === CRYPTO_LANE) return false;
    if (this.#reading.has(item.roomId)) return true;
    if (item.seq <= outage.afterSeq) return false;
    return this.#pending === undefined || this.#pending.has(item.roomId);
  }

  /**
   * Something says the homeserver may have restarted: a request found it unreachable, or it sent a transaction again
   * (it never saw our answer). Resolves once entries queued from now on are held.
   */
  suspect(reason: string): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#outage) {
      // Again within the catch-up: rooms read already may have lost events again; all are read once more.
      if (this.#pending !== undefined) {
        this.#interrupted = true;
        this.#pending = undefined;
      }
      return this.#noting ?? Promise.resolve();
    }
    const since = Date.now() - (this.options.windowMs ?? 10 * 60_000);
    // Until the queue's end is known nothing waits (a homeserver that is down sends nothing meanwhile).
    this.#outage = { since, afterSeq: Number.POSITIVE_INFINITY };
    this.options.log.warn({ reason }, "the homeserver may have restarted; once it answers, recent room history is read for events it may have dropped");
    this.#noting = (async () => {
      const afterSeq = await this.options.store.appservice.lastSeq();
      const outage = { since, afterSeq };
      if (this.#outage?.since === since) this.#outage = outage;
      await this.options.store.appservice.setCatchUpState(outage);
    })().catch((err) => this.options.log.error({ err }, "could not record the homeserver outage; catching up from memory only"));
    return this.#noting;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = undefined;
        this.#schedule();
      });
    }, this.options.intervalMs ?? 2_000);
    this.#timer.unref?.();
  }

  async #tick(): Promise<void> {
    const ok = await this.options.probe().catch(() => false);
    if (!ok) return this.suspect("the homeserver does not answer");
    if (!this.#outage) return;
    await this.#noting;
    await this.#catchUp(this.#outage).catch((err) => this.options.log.warn({ err }, "the catch-up after the homeserver outage failed; trying again"));
  }

  async #catchUp(outage: Outage): Promise<void> {
    const { log } = this.options;
    this.#interrupted = false;
    const rooms = await this.options.rooms();
    if (this.#interrupted) return;
    const pending = new Set(rooms.filter((r) => this.#pending === undefined || this.#pending.has(r.roomId)).map((r) => r.roomId));
    this.#pending = pending;
    let missed = 0;
    const todo = rooms.filter((r) => pending.has(r.roomId));
    const worker = async (): Promise<void> => {
      for (let room = todo.shift(); room && !this.#interrupted && !this.#stopped; room = todo.shift()) missed += await this.#readRoom(room, outage, pending);
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, worker));
    if (this.#interrupted || pending.size > 0 || this.#pending !== pending) return;
    this.#outage = undefined;
    this.#pending = undefined;
    await this.options.store.appservice.setCatchUpState(undefined);
    log.info({ rooms: rooms.length, missed }, missed > 0 ? "caught up after the homeserver outage: queued events it never sent" : "caught up after the homeserver outage: nothing was missing");
  }

  /** Reads one room and queues what it missed; returns how many. A failure leaves the room pending. */
  async #readRoom(room: CatchUpRoom, outage: Outage, pending: Set<string>): Promise<number> {
    const { log } = this.options;
    this.#reading.add(room.roomId);
    try {
      // Its entries change places below: the one being handled must be done first.
      while (this.options.busy(room.roomId)) await new Promise((r) => setTimeout(r, 10));
      let events: MatrixEvent[];
      try {
        events = await this.options.history(room, outage.since);
      } catch (err) {
        if (!isRefusal(err)) throw err;
        // The reader left or was kicked: there is nothing the bridge would bridge there.
        log.warn({ err, room: room.roomId }, "could not read a room's history after the homeserver outage; skipping it");
        events = [];
      }
      const missed = await this.options.store.appservice.acceptMissed(room.roomId, events);
      if (missed > 0) log.warn({ room: room.roomId, missed }, "the homeserver never sent these events (dropped in its restart); queued them in the room's order");
      pending.delete(room.roomId);
      return missed;
    } catch (err) {
      log.warn({ err, room: room.roomId }, "could not catch up a room after the homeserver outage; trying again");
      this.#interrupted = true;
      return 0;
    } finally {
      this.#reading.delete(room.roomId);
      this.options.kick();
    }
  }
}

/** A 4xx answer: the homeserver works but will not show this reader the room. */
function isRefusal(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500 && status !== 429;
}
