// The benchmark's Matrix user on a real Synapse: a matrix-js-sdk client that stamps each puppet message the moment
// sync delivers it. Its sync filter asks for long timelines, because a "limited" sync leaves out events (the
// client would report them as lost); should one happen anyway, the run fails instead of miscounting.
import { ClientEvent, createClient, EventType, Filter, Method, RoomEvent, SyncState, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import { logger as sdkGlobalLogger, type Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";
import type { SynapseHandle } from "../test/harness/synapse.js";
import type { BenchMatrixUser, MatrixArrival } from "./matrix-side.js";

/** Events per room per sync; more than any benchmark run puts into one room between two syncs. */
const TIMELINE_LIMIT = 1000;

// The SDK's debug output would drown the progress lines; its errors still show. Parts of the SDK log through the
// global logger rather than the client's, and setLevel does not reach loggers already derived from it, so its
// method factory is replaced (as the end-to-end suite's Matrix user does).
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
  readonly problems: string[] = [];
  private readonly txnPrefix = Date.now().toString(36);
  private txnCounter = 0;

  private constructor(
    private readonly client: MatrixClient,
    readonly userId: string,
  ) {
    client.on(RoomEvent.Timeline, (ev: MatrixEvent, room: Room | undefined) => {
      const at = Date.now();
      this.notify();
      if (!room || ev.getType() !== EventType.RoomMessage || ev.getSender() === userId) return;
      const body = ev.getContent()["body"];
      if (typeof body !== "string") return;
      for (const l of this.listeners) l(room.roomId, ev.getSender()!, body, at);
    });
    client.on(RoomEvent.TimelineReset, (room: Room | undefined) => {
      this.problems.push(`a limited sync left events of room ${room?.roomId ?? "?"} out of the Matrix client's view`);
    });
  }

  static async create(synapse: SynapseHandle, localpart: string): Promise<SynapseBenchUser> {
    const reg = await synapse.registerUser(localpart);
    const client = createClient({ baseUrl: synapse.url, userId: reg.userId, accessToken: reg.accessToken, deviceId: reg.deviceId, logger: quiet });
    const user = new SynapseBenchUser(client, reg.userId);
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

  async openPortal(puppetUserId: string, opts: { encrypted: boolean }): Promise<string> {
    const { room_id: roomId } = await this.client.createRoom({
      is_direct: true,
      invite: [puppetUserId],
      preset: "trusted_private_chat" as never,
      initial_state: opts.encrypted ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] : [],
    });
    await this.waitFor(`${puppetUserId} to join ${roomId}`, () => this.client.getRoom(roomId)?.getMember(puppetUserId)?.membership === "join", 60_000);
    return roomId;
  }

  /**
   * A plain PUT /send. The SDK's sendEvent goes through its scheduler, which sends one message at a time across all
   * rooms: the benchmark would then measure that queue instead of the bridge.
   */
  async send(roomId: string, text: string): Promise<void> {
    const txnId = `bench-${this.txnPrefix}-${++this.txnCounter}`;
    const path = `/rooms/${encodeURIComponent(roomId)}/send/${EventType.RoomMessage}/${encodeURIComponent(txnId)}`;
    await this.client.http.authedRequest(Method.Put, path, undefined, { msgtype: "m.text", body: text });
  }

  onMessage(listener: MatrixArrival): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.client.stopClient();
  }

  private notify(): void {
    for (const w of this.changeWaiters) w();
  }

  private waitFor(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        clearInterval(poll);
        this.changeWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.changeWaiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      // Membership changes arrive through sync like timeline events; the poll covers a change without an event.
      const poll = setInterval(check, 250);
      this.changeWaiters.add(check);
      check();
    });
  }
}
