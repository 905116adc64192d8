// The benchmark's Matrix user on a real Synapse: a matrix-js-sdk client that stamps each puppet message the moment
// it can be read (on sync, or once decrypted in an encrypted room). Its sync filter asks for long timelines,
// because a "limited" sync leaves out events (the client would report them as lost); should one happen anyway,
// the run fails instead of miscounting. With `encrypted`, the client has the SDK's Rust crypto (in memory).
import {
  ClientEvent,
  createClient,
  EventType,
  Filter,
  MatrixEventEvent,
  MatrixScheduler,
  Method,
  RoomEvent,
  SyncState,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from "matrix-js-sdk";
import { logger as sdkGlobalLogger, type Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";
import type { SynapseHandle } from "../test/harness/synapse.js";
import type { BenchMatrixUser, MatrixArrival } from "./matrix-side.js";

/** Events per room per sync; more than any benchmark run puts into one room between two syncs. */
const TIMELINE_LIMIT = 1000;

// The SDK's debug output would drown the progress lines; its errors still show. Parts of the SDK log through the
// global logger rather than the client's, and setLevel does not reach loggers already derived from it, so its
// method factory is replaced (as the end-to-end suite's Matrix users do).
{
  type Factory = (method: string, level: unknown, name: unknown) => (...args: unknown[]) => void;
  const global = sdkGlobalLogger as unknown as { methodFactory: Factory; rebuild(): void };
  const original = global.methodFactory;
  global.methodFactory = (method, level, name) => (method === "error" ? original(method, level, name) : () => {});
  global.rebuild();
}

const quiet: SdkLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (...msg: unknown[]) => console.error("matrix-js-sdk:", ...msg),
  getChild: () => quiet,
};

export class SynapseBenchUser implements BenchMatrixUser {
  private readonly listeners = new Set<MatrixArrival>();
  private readonly changeWaiters = new Set<() => void>();
  /** Puppet messages already reported: the SDK emits an event again when it decrypts it. */
  private readonly reported = new Set<string>();
  private readonly txnPrefix = Date.now().toString(36);
  private txnCounter = 0;
  readonly problems: string[] = [];

  private constructor(
    private readonly client: MatrixClient,
    readonly userId: string,
    private readonly encrypted: boolean,
  ) {
    client.on(RoomEvent.Timeline, (ev: MatrixEvent, room: Room | undefined) => {
      this.notify();
      if (room) this.consider(ev);
    });
    // In an encrypted room the readable event comes later (and again if its key arrived late).
    client.on(MatrixEventEvent.Decrypted, (ev: MatrixEvent) => this.consider(ev));
    client.on(RoomEvent.TimelineReset, (room: Room | undefined) => {
      this.problems.push(`a limited sync left events of room ${room?.roomId ?? "?"} out of the Matrix client's view`);
    });
  }

  static async create(synapse: SynapseHandle, localpart: string, opts: { encrypted: boolean }): Promise<SynapseBenchUser> {
    const reg = await synapse.registerUser(localpart);
    const client = createClient({
      baseUrl: synapse.url,
      userId: reg.userId,
      accessToken: reg.accessToken,
      deviceId: reg.deviceId,
      logger: quiet,
      // The default scheduler sends one message at a time across all rooms; the benchmark would measure that queue.
      // This one queues nothing (a null queue name means "send now").
      scheduler: new MatrixScheduler(undefined, () => null),
    });
    if (opts.encrypted) await client.initRustCrypto({ useIndexedDB: false });
    const user = new SynapseBenchUser(client, reg.userId, opts.encrypted);
    const filter = new Filter(reg.userId);
    filter.setTimelineLimit(TIMELINE_LIMIT);
    const ready = new Promise<void>((resolve) => {
      client.on(ClientEvent.Sync, (state: SyncState) => {
        if (state === SyncState.Prepared || state === SyncState.Syncing) resolve();
      });
    });
    await client.startClient({ initialSyncLimit: 0, filter });
    await ready;
    return user;
  }

  async openPortal(puppetUserId: string, opts: { encrypted: boolean; timeoutMs: number }): Promise<string> {
    if (opts.encrypted && !this.encrypted) throw new Error("this Matrix user was created without crypto");
    const { room_id: roomId } = await this.client.createRoom({
      is_direct: true,
      invite: [puppetUserId],
      preset: "trusted_private_chat" as never,
      initial_state: opts.encrypted ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] : [],
    });
    await this.waitFor(`${puppetUserId} to join ${roomId}`, async () => {
      if (this.client.getRoom(roomId)?.getMember(puppetUserId)?.membership !== "join") return false;
      // Sending before the client knows the room is encrypted would send in the clear.
      return !opts.encrypted || (await this.client.getCrypto()!.isEncryptionEnabledInRoom(roomId));
    }, opts.timeoutMs);
    return roomId;
  }

  async send(roomId: string, text: string): Promise<void> {
    const content = { msgtype: "m.text", body: text };
    if (this.encrypted) {
      // The SDK encrypts (sharing the room key with the puppet's device first when needed).
      await this.client.sendEvent(roomId, EventType.RoomMessage, content as never);
      return;
    }
    // A plain PUT /send: no local echo to maintain, so the client spends less of the machine.
    const txnId = `bench-${this.txnPrefix}-${++this.txnCounter}`;
    const path = `/rooms/${encodeURIComponent(roomId)}/send/${EventType.RoomMessage}/${encodeURIComponent(txnId)}`;
    await this.client.http.authedRequest(Method.Put, path, undefined, content);
  }

  onMessage(listener: MatrixArrival): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.client.stopClient();
  }

  private consider(ev: MatrixEvent): void {
    const at = Date.now();
    const roomId = ev.getRoomId();
    const eventId = ev.getId();
    if (!roomId || !eventId || ev.getSender() === this.userId) return;
    if (ev.isBeingDecrypted() || ev.isDecryptionFailure() || ev.getType() !== EventType.RoomMessage) return;
    const body = ev.getContent()["body"];
    if (typeof body !== "string" || this.reported.has(eventId)) return;
    this.reported.add(eventId);
    for (const l of this.listeners) l(roomId, ev.getSender()!, body, at, ev.isEncrypted());
  }

  private notify(): void {
    for (const w of this.changeWaiters) w();
  }

  private waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let finished = false;
      const finish = (err?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.changeWaiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        void Promise.resolve(done()).then((ok) => ok && finish(), (err: unknown) => finish(err as Error));
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      // Membership changes arrive through sync like timeline events; the poll covers a change without an event.
      const poll = setInterval(check, 250);
      this.changeWaiters.add(check);
      check();
    });
  }
}
