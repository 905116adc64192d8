// The benchmark's Matrix user on a real Synapse: the end-to-end suite's matrix-js-sdk user, with an arrival
// listener that stamps each puppet message the moment sync delivers it.
import { EventType, RoomEvent, type MatrixEvent, type Room } from "matrix-js-sdk";
import type { SynapseHandle } from "../test/harness/synapse.js";
import { MatrixTestUser } from "../test/e2e/matrix-user.js";
import type { BenchMatrixUser, MatrixArrival } from "./matrix-side.js";

export class SynapseBenchUser implements BenchMatrixUser {
  private readonly listeners = new Set<MatrixArrival>();

  private constructor(private readonly user: MatrixTestUser) {
    user.client.on(RoomEvent.Timeline, (ev: MatrixEvent, room: Room | undefined) => {
      const at = Date.now();
      if (!room || ev.getType() !== EventType.RoomMessage || ev.getSender() === user.userId) return;
      const body = ev.getContent()["body"];
      if (typeof body !== "string") return;
      for (const l of this.listeners) l(room.roomId, ev.getSender()!, body, at);
    });
  }

  static async create(synapse: SynapseHandle, localpart: string): Promise<SynapseBenchUser> {
    return new SynapseBenchUser(await MatrixTestUser.create(synapse, localpart));
  }

  get userId(): string {
    return this.user.userId;
  }

  async openPortal(puppetUserId: string, opts: { encrypted: boolean }): Promise<string> {
    const { room_id: roomId } = await this.user.client.createRoom({
      is_direct: true,
      invite: [puppetUserId],
      preset: "trusted_private_chat" as never,
      initial_state: opts.encrypted ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] : [],
    });
    await this.user.waitFor(
      `${puppetUserId} to join ${roomId}`,
      () => (this.user.client.getRoom(roomId)?.getMember(puppetUserId)?.membership === "join" ? true : undefined),
      60_000,
    );
    return roomId;
  }

  async send(roomId: string, text: string): Promise<void> {
    await this.user.sendText(roomId, text);
  }

  onMessage(listener: MatrixArrival): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.user.stop();
  }
}
