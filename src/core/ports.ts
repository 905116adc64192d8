import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Message, MessageSchema } from "../protocol/gen/content_pb.js";

export type MessageInit = MessageInitShape<typeof MessageSchema>;

// The two shapes the core talks to. The core knows neither HTTP nor crypto: the appservice implements MatrixSide,
// the interop client implements RemoteNetwork (a MIMI-speaking gatekeeper could be a second implementation).

/** Matrix event content as the core builds it (m.room.message and friends). */
export type MatrixContent = Record<string, unknown>;

export interface MatrixSide {
  readonly botUserId: string;
  readonly domain: string;
  /** Registers the puppet if needed and keeps its profile (name, avatar) current; returns its user ID. */
  ensurePuppet(e164: string, profile: { name?: string | undefined; avatar?: RemoteAvatar | undefined }): Promise<string>;
  /** Creates a DM portal room owned by the puppet, inviting the Matrix user. */
  createPortalRoom(opts: { puppetUserId: string; inviteUserId: string; name: string; encrypted: boolean }): Promise<string>;
  /** Creates the management DM between the bot and a user (when the user did not create it). */
  joinRoom(asUser: string, roomId: string): Promise<void>;
  leaveRoom(asUser: string, roomId: string, reason?: string): Promise<void>;
  invite(asUser: string, roomId: string, userId: string): Promise<void>;
  /** Sends an event as a bridge-owned user; txnId makes retries idempotent. Returns the event ID. */
  sendEvent(asUser: string, roomId: string, type: string, content: MatrixContent, txnId: string): Promise<string>;
  redact(asUser: string, roomId: string, eventId: string, txnId: string, reason?: string): Promise<void>;
  sendReadReceipt(asUser: string, roomId: string, eventId: string): Promise<void>;
  setTyping(asUser: string, roomId: string, typing: boolean, timeoutMs: number): Promise<void>;
  joinedMembers(roomId: string): Promise<string[]>;
}

/** A media transfer failed in a way the user must hear about (too large, tampered, unreachable, unsupported). */
export class MediaError extends Error {
  constructor(
    /** Shown to the Matrix user, e.g. "the file is larger than the 100 MB limit". */
    readonly userMessage: string,
    options?: { cause?: unknown },
  ) {
    super(userMessage, options);
    this.name = "MediaError";
  }
}

/**
 * Moves media between the two sides. Implemented by the runtime (Matrix media API, Matrix encrypted attachments,
 * the gatekeeper's media store, WhatsApp-style media encryption); the core only decides when.
 */
export interface MediaPort {
  /**
   * A Matrix media message (m.image, m.video, m.audio incl. voice messages, m.file; `url` or, in encrypted rooms,
   * `file`) -> the interop Message carrying it (imageMessage, videoMessage, audioMessage or documentMessage, with
   * caption and, when `quote` is given, contextInfo), the encrypted blob already uploaded to the gatekeeper.
   * Throws MediaError for anything the user should be told.
   */
  toRemote(matrixUser: string, content: MatrixContent, quote?: { stanzaId: string; participant: string }): Promise<MessageInit>;
  /**
   * An interop media Message -> Matrix m.room.message content (msgtype, body, info, url or - when `encrypted` -
   * `file`), the media verified, decrypted and uploaded to Matrix as the puppet. Throws MediaError (e.g. a hash
   * mismatch: the media is rejected and never posted).
   */
  toMatrix(puppetUserId: string, message: Message, encrypted: boolean): Promise<MatrixContent>;
}

/** A contact's profile picture on the remote network: its media ID and how to fetch it. */
export interface RemoteAvatar {
  id: string;
  fetch(): Promise<{ data: Uint8Array; contentType: string }>;
}

export interface RemoteProfile {
  e164: string;
  name?: string | undefined;
  avatar?: RemoteAvatar | undefined;
  devices: number[];
}

export type RemoteFailureReason =
  | "unknown_user"
  | "not_opted_in"
  | "blocked"
  | "rate_limited"
  | "invalid"
  | "unreachable"
  | "internal";

export class RemoteError extends Error {
  constructor(
    readonly reason: RemoteFailureReason,
    message: string,
  ) {
    super(message);
    this.name = "RemoteError";
  }
}

export interface RemoteStatus {
  connected: boolean;
  since: number;
  lastError?: string | undefined;
  pendingOutgoing: number;
}

export interface RemoteNetwork {
  readonly networkName: string;
  /** Looks a phone number up in the gatekeeper directory; throws RemoteError (unknown_user, not_opted_in, ...). */
  lookup(asMatrixUser: string, e164: string): Promise<RemoteProfile>;
  /** Makes sure the Matrix user has an interop identity with uploaded keys. */
  ensureIdentity(matrixUser: string): Promise<void>;
  /** Something was written to the store's outbox: deliver it (encrypted with the ratchet step, then sent). */
  wake(): void;
  status(): RemoteStatus;
}
