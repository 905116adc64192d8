// What the crypto engine needs to know about a room before it encrypts into it: whether it is encrypted and how
// (m.room.encryption), who may read it (members, m.room.history_visibility). Read from the room state once and kept
// until an event that changes it passes through the bridge.
import type { MatrixClient } from "../client.js";
import type { ClientEvent } from "../events.js";

export const MEGOLM = "m.megolm.v1.aes-sha2";

export interface RoomEncryption {
  algorithm: string;
  /** From `rotation_period_ms`; the spec's default is one week. */
  rotationPeriodMs: number;
  /** From `rotation_period_msgs`; the spec's default is 100. */
  rotationPeriodMessages: number;
}

export interface RoomCryptoState {
  encryption: RoomEncryption | null;
  historyVisibility: "invited" | "joined" | "shared" | "world_readable";
  /** Joined members, plus invited ones unless history is visible to joined members only. */
  recipients: string[];
}

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

/** The state events that change a room's crypto state. */
export function affectsRoomCryptoState(type: string): boolean {
  return type === "m.room.member" || type === "m.room.encryption" || type === "m.room.history_visibility";
}

export class RoomStateCache {
  private readonly rooms = new Map<string, Promise<RoomCryptoState>>();
  /** Rooms seen encrypted; encryption cannot be turned off again, so this is never forgotten. */
  private readonly encrypted = new Set<string>();

  constructor(
    private readonly client: MatrixClient,
    private readonly maxRooms = 2000,
  ) {}

  /** The room's crypto state as `asUser` (a member) sees it. */
  get(roomId: string, asUser: string): Promise<RoomCryptoState> {
    let pending = this.rooms.get(roomId);
    if (!pending) {
      pending = this.load(roomId, asUser);
      this.rooms.set(roomId, pending);
      pending.catch(() => this.rooms.get(roomId) === pending && this.rooms.delete(roomId));
      if (this.rooms.size > this.maxRooms) this.rooms.delete(this.rooms.keys().next().value!);
    }
    return pending;
  }

  /** Something changed (an event passed through, or the bridge itself invited or joined): read the state again. */
  forget(roomId: string): void {
    this.rooms.delete(roomId);
  }

  observe(ev: { type: string; room_id: string; state_key?: string | undefined }): void {
    if (ev.state_key !== undefined && affectsRoomCryptoState(ev.type)) this.forget(ev.room_id);
    if (ev.type === "m.room.encryption" && ev.state_key === "") this.encrypted.add(ev.room_id);
  }

  /** Known to be encrypted without asking the homeserver. */
  knownEncrypted(roomId: string): boolean {
    return this.encrypted.has(roomId);
  }

  private async load(roomId: string, asUser: string): Promise<RoomCryptoState> {
    const state = await this.client.as(asUser).getRoomState(roomId);
    return this.fromState(roomId, state);
  }

  private fromState(roomId: string, state: ClientEvent[]): RoomCryptoState {
    let encryption: RoomEncryption | null = null;
    let historyVisibility: RoomCryptoState["historyVisibility"] = "shared";
    const joined: string[] = [];
    const invited: string[] = [];
    for (const ev of state) {
      if (ev.state_key === undefined) continue;
      if (ev.type === "m.room.encryption" && ev.state_key === "") {
        const c = ev.content;
        encryption = {
          algorithm: typeof c.algorithm === "string" ? c.algorithm : "",
          rotationPeriodMs: positiveNumber(c.rotation_period_ms) ?? WEEK_MS,
          rotationPeriodMessages: positiveNumber(c.rotation_period_msgs) ?? 100,
        };
      } else if (ev.type === "m.room.history_visibility" && ev.state_key === "") {
        const v = ev.content.history_visibility;
        if (v === "invited" || v === "joined" || v === "shared" || v === "world_readable") historyVisibility = v;
      } else if (ev.type === "m.room.member") {
        if (ev.content.membership === "join") joined.push(ev.state_key);
        else if (ev.content.membership === "invite") invited.push(ev.state_key);
      }
    }
    if (encryption) this.encrypted.add(roomId);
    else if (this.encrypted.has(roomId)) {
      // A room seen encrypted whose state no longer says so: refuse to fall back to sending in the clear.
      throw new Error(`room ${roomId} was encrypted but its state has no m.room.encryption event now; refusing to send unencrypted`);
    }
    return { encryption, historyVisibility, recipients: historyVisibility === "joined" ? joined : [...joined, ...invited] };
  }
}

function positiveNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}
