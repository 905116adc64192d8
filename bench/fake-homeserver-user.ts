// The benchmark's Matrix user on the fake homeserver: its actions are direct calls into the fake, and a puppet's
// message counts as arrived the moment the bridge's send request reaches the homeserver.
import type { FakeHomeserver } from "./fake-homeserver.js";
import type { BenchMatrixUser, MatrixArrival } from "./matrix-side.js";

export class FakeHomeserverUser implements BenchMatrixUser {
  private readonly listeners = new Set<MatrixArrival>();

  constructor(
    private readonly hs: FakeHomeserver,
    readonly userId: string,
  ) {
    hs.addLocalUser(userId);
    hs.onEvent((e) => {
      if (e.type !== "m.room.message" || e.sender === userId) return;
      const body = e.content["body"];
      if (typeof body !== "string") return;
      for (const l of this.listeners) l(e.roomId, e.sender, body, e.receivedAt, false);
    });
  }

  async openPortal(puppetUserId: string, opts: { encrypted: boolean }): Promise<string> {
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
        reject(new Error(`${puppetUserId} did not join ${roomId} within 60 s; homeserver problems: ${this.hs.allProblems().join("; ") || "none"}`));
      }, 60_000);
      check();
    });
    return roomId;
  }

  async send(roomId: string, text: string): Promise<void> {
    this.hs.sendAs(this.userId, roomId, "m.room.message", { msgtype: "m.text", body: text });
  }

  onMessage(listener: MatrixArrival): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {}
}
