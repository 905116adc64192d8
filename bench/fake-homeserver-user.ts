// The benchmark's Matrix user on the fake homeserver: its actions are direct calls into the fake, and a puppet's
// message counts as arrived the moment the bridge's send request reaches the homeserver (in encrypted portals it
// is reported once the user's device has decrypted it, still with that arrival time: decrypting is the client's
// work, not the bridge's).
import type { FakeHomeserver, PostedEvent } from "./fake-homeserver.js";
import type { BenchMatrixUser, MatrixArrival } from "./matrix-side.js";
import { LocalOlmDevice } from "./olm-device.js";

export class FakeHomeserverUser implements BenchMatrixUser {
  private readonly listeners = new Set<MatrixArrival>();
  /** Puppet events the user's device could not decrypt: the run stops on them. */
  readonly problems: string[] = [];

  private constructor(
    private readonly hs: FakeHomeserver,
    readonly userId: string,
    private readonly device: LocalOlmDevice | undefined,
  ) {
    hs.onEvent((e) => {
      if (e.sender === userId) return;
      if (e.type === "m.room.message") this.report(e, e.content, false);
      else if (e.type === "m.room.encrypted") this.decryptAndReport(e);
    });
  }

  static async create(hs: FakeHomeserver, userId: string, opts: { encrypted: boolean }): Promise<FakeHomeserverUser> {
    hs.addLocalUser(userId);
    const device = opts.encrypted ? await LocalOlmDevice.create(hs.keys, userId, "BENCHDEVICE") : undefined;
    return new FakeHomeserverUser(hs, userId, device);
  }

  async openPortal(puppetUserId: string, opts: { encrypted: boolean; timeoutMs: number }): Promise<string> {
    if (opts.encrypted && !this.device) throw new Error("this Matrix user was created without a crypto device");
    const roomId = await this.hs.createRoomAs(this.userId, [puppetUserId], opts);
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.hs.membership(roomId, puppetUserId) !== "join") return false;
        clearTimeout(timer);
        stop();
        resolve();
        return true;
      };
      const stop = this.hs.onChange(check);
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`${puppetUserId} did not join ${roomId} within ${opts.timeoutMs / 1000} s; homeserver problems: ${this.hs.allProblems().join("; ") || "none"}`));
      }, opts.timeoutMs);
      check();
    });
    return roomId;
  }

  async send(roomId: string, text: string): Promise<void> {
    const content = { msgtype: "m.text", body: text };
    if (this.device && this.hs.isEncrypted(roomId)) {
      const encrypted = await this.device.encrypt(roomId, this.hs.joinedMembers(roomId), "m.room.message", content);
      this.hs.sendAs(this.userId, roomId, "m.room.encrypted", encrypted);
      return;
    }
    this.hs.sendAs(this.userId, roomId, "m.room.message", content);
  }

  onMessage(listener: MatrixArrival): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.device?.close();
  }

  private report(e: PostedEvent, content: Record<string, unknown>, encrypted: boolean): void {
    const body = content["body"];
    if (typeof body !== "string") return;
    for (const l of this.listeners) l(e.roomId, e.sender, body, e.receivedAt, encrypted);
  }

  private decryptAndReport(e: PostedEvent): void {
    if (!this.device) {
      this.problems.push(`${e.sender} sent an encrypted event into ${e.roomId}, but the benchmark's user has no crypto device`);
      return;
    }
    const event = { type: e.type, content: e.content, sender: e.sender, event_id: e.eventId, room_id: e.roomId, origin_server_ts: e.receivedAt };
    this.device.decrypt(event).then(
      (clear) => {
        if (clear.type === "m.room.message") this.report(e, (clear.content ?? {}) as Record<string, unknown>, true);
      },
      (err: unknown) => this.problems.push(`the benchmark's user could not decrypt ${e.eventId} from ${e.sender}: ${(err as Error)?.message ?? String(err)}`),
    );
  }
}
