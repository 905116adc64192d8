import type { MatrixEvent, MessageRef, OutgoingEvent, PollKeys, RemoteEvent, RemoteMedia, RemoteText, RemoteVote } from "./events.js";

// The shapes the core talks to. The core knows neither HTTP nor crypto nor any network's wire format: the appservice
// implements MatrixSide; a network (src/networks/<name>/ plus its transport) implements RemoteNetwork, with its own
// identities, text dialect and content codec. A MIMI-speaking gatekeeper would be a second RemoteNetwork.

/** Matrix event content as the core builds it (m.room.message and friends). */
export type MatrixContent = Record<string, unknown>;

/** What the runtime knows that the core does not: queues, crypto devices, the interop identity's storage. */
export interface OperationsPort {
  readonly version: string;
  status(): Promise<OperationsStatus>;
  /** Gives a bridge-owned Matrix user (the bot or a puppet) a fresh E2EE device, retiring the old one; returns its ID. */
  resetCrypto(userId: string): Promise<string>;
  /**
   * Forgets a Matrix user's network side: the interop identity and its keys, queued messages, the message map and
   * the portal rows (the caller has already closed the rooms). The next use makes a new identity.
   */
  forgetUser(userId: string): Promise<void>;
}

export interface OperationsStatus {
  readonly queues: readonly { name: string; depth: number; oldestAgeSeconds: number }[];
  /** Open crypto machines; null when Matrix encryption is off. */
  readonly cryptoMachines: number | null;
  readonly portals: number;
  readonly puppets: number;
}

export interface StateEvent {
  readonly type: string;
  readonly stateKey: string;
  readonly content: MatrixContent;
}

export interface MatrixSide {
  readonly botUserId: string;
  readonly domain: string;
  /**
   * Registers the puppet of the contact with this puppet key (ContactIds.puppetKey) if needed and keeps its profile
   * (name, avatar) current; returns its user ID.
   */
  ensurePuppet(puppetKey: string, profile: { name?: string | undefined; avatar?: RemoteAvatar | undefined }): Promise<string>;
  /** Creates a DM portal room owned by the puppet, inviting the Matrix user. */
  createPortalRoom(opts: { puppetUserId: string; inviteUserId: string; name: string; encrypted: boolean }): Promise<string>;
  /** Creates a space owned by the bot, inviting the Matrix user. */
  createSpace(opts: { inviteUserId: string; name: string; topic: string }): Promise<string>;
  /**
   * Creates a DM portal room owned by the puppet, inviting the Matrix user. `initialState` goes into the room as it is
   * created (bridge info), so no client ever sees the room without it.
   */
  createPortalRoom(opts: { puppetUserId: string; inviteUserId: string; name: string; encrypted: boolean; initialState?: readonly StateEvent[] }): Promise<string>;
  /** Sets a state event as `asUser`. */
  setState(asUser: string, roomId: string, state: StateEvent): Promise<void>;
  /**
   * Joins as a bridge user; `encrypted` says the room is encrypted (from the invite's room state), so the user gets
   * its crypto device first: users' clients share room keys only with devices that exist when they send.
   */
  joinRoom(asUser: string, roomId: string, opts?: { encrypted?: boolean }): Promise<void>;
  leaveRoom(asUser: string, roomId: string, reason?: string): Promise<void>;
  invite(asUser: string, roomId: string, userId: string): Promise<void>;
  /** Sends an event as a bridge-owned user; txnId makes retries idempotent. Returns the event ID. */
  sendEvent(asUser: string, roomId: string, type: string, content: MatrixContent, txnId: string): Promise<string>;
  /** The content of a room's state event, read as a bridge-owned member of the room; null when it has none. */
  roomState(asUser: string, roomId: string, type: string, stateKey?: string): Promise<MatrixContent | null>;
  /** Sets a state event as a bridge-owned user (never encrypted); returns the event ID. */
  sendState(asUser: string, roomId: string, type: string, stateKey: string, content: MatrixContent): Promise<string>;
  redact(asUser: string, roomId: string, eventId: string, txnId: string, reason?: string): Promise<void>;
  sendReadReceipt(asUser: string, roomId: string, eventId: string): Promise<void>;
  setTyping(asUser: string, roomId: string, typing: boolean, timeoutMs: number): Promise<void>;
  joinedMembers(roomId: string): Promise<string[]>;
  /**
   * The room's events from its start up to `asUser`'s own join, oldest first (at most a few hundred): what was
   * said before the bridge's user was in the room, which the homeserver never pushes to the appservice.
   */
  eventsBeforeJoin(asUser: string, roomId: string): Promise<MatrixEvent[]>;
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
 * Moves media between the two sides. Implemented by the runtime for its network (Matrix media API, Matrix encrypted
 * attachments, the network's media store and media encryption); the core only decides when.
 */
export interface MediaPort {
  /**
   * A Matrix media message (m.image, m.video, m.audio incl. voice messages, m.file; `url` or, in encrypted rooms,
   * `file`) -> the network's media message (caption, and the quoted message when `quote` is given), its file already
   * uploaded to the network. Throws MediaError for anything the user should be told.
   */
  toRemote(matrixUser: string, content: MatrixContent, quote?: MessageRef): Promise<RemoteMedia>;
  /**
   * A Matrix m.sticker (the image's url/file and info, no msgtype) -> the network's sticker, its file converted to
   * the form the network takes. One that cannot be a sticker goes as the image it is, and `asImage` says why (the
   * user is told). Throws MediaError like toRemote.
   */
  stickerToRemote(matrixUser: string, content: MatrixContent, quote?: MessageRef): Promise<{ media: RemoteMedia; asImage?: string }>;
  /**
   * The network's media message -> Matrix m.room.message content (msgtype, body, info, url or - when `encrypted` -
   * `file`), the media verified, decrypted and uploaded to Matrix as the puppet. Throws MediaError (e.g. a hash
   * mismatch: the media is rejected and never posted).
   */
  toMatrix(puppetUserId: string, media: RemoteMedia, encrypted: boolean): Promise<MatrixContent>;
  /** Whether a Matrix msgtype is media this port carries. */
  handles(msgtype: string): boolean;
}

/** A contact's profile picture on the remote network: its media ID and how to fetch it. */
export interface RemoteAvatar {
  id: string;
  fetch(): Promise<{ data: Uint8Array; contentType: string }>;
}

export interface RemoteProfile {
  contact: string;
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

/** How a network names its users: the core keeps contact IDs opaque and asks the network for everything else. */
export interface ContactIds {
  /** A contact ID from what a user typed ("0151 1234567", "+49 151 …"); throws InputError saying what is wrong. */
  parse(input: string, defaultCountry?: string): string;
  /** The contact a puppet stands for, from the key in its user ID; null when the key names no valid contact. */
  fromPuppetKey(key: string): string | null;
  /** The key that goes into the puppet's user ID (bridge.puppet_localpart_template) and names its puppet. */
  puppetKey(contact: string): string;
  /** How people write the contact ("+49 1511 2345678"). */
  label(contact: string): string;
  /** Whether a sender ID is one of the network's users that the bridge bridges (as opposed to, e.g., a provider). */
  isContact(id: string): boolean;
  /** The network's ID of a Matrix user of this bridge. */
  localUser(matrixUserId: string): string;
}

/** The network's text markup, converted at the Matrix boundary. */
export interface TextDialect {
  toMatrix(text: RemoteText): MatrixText;
  /** Reply fallbacks (<mx-reply>, quoted lines of a plain body) are left out. */
  fromMatrix(content: MatrixText): RemoteText;
  /** A reply that shows the message it answers inline (when that message never crossed the bridge). */
  withQuote(quoted: RemoteText, text: RemoteText): RemoteText;
  /** How the text writes a mention of this user (a contact ID or ContactIds.localUser's ID); undefined if it cannot. */
  mentionText?(user: string): string | undefined;
}

/** Matrix message text: the plain body, and HTML when there is formatting. */
export interface MatrixText {
  body: string;
  format?: string;
  formatted_body?: string;
}

/** A refusal the user is shown, e.g. "the message is too long to send (…)". */
export type Encoded = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

/** What a decoded event may say besides itself. */
export interface DecodeExtras {
  /** For the log: context fields that could not be used and were left out (the event stands without them). */
  dropped?: readonly string[];
  /** The message was sent in a chat with disappearing messages: it disappears this many seconds after it was sent. */
  expiresInSeconds?: number;
}

/** Between the core's events and the network's wire content (what the outbox and inbox hold). */
export interface ContentCodec {
  /** Never throws: what cannot be read becomes "unsupported", naming what it was. */
  decode(bytes: Uint8Array): RemoteEvent & DecodeExtras;
  /** `disappearingSeconds`: the chat's disappearing-messages timer, which messages sent in it carry. */
  encode(event: OutgoingEvent, chat: { contact: string; nowMs: number; disappearingSeconds?: number }): Encoded;
  /** A fresh secret for a poll the user creates; absent when the network has no polls. */
  newPollSecret?(): Uint8Array;
  /** Opens a contact's sealed vote in `poll`; never throws (a vote that does not open says why, for the log). */
  openVote?(vote: RemoteVote, poll: PollKeys, voter: string): OpenedVote;
}

/** The options a vote chose (indices into the poll's options) and how many of its choices name no option. */
export type OpenedVote = { ok: true; selected: number[]; unknown: number } | { ok: false; reason: string };

/** Sentences that name the network's own features. */
export interface NetworkPhrases {
  /** Why a contact cannot receive messages from Matrix: where they turn that on. */
  notOptedIn(who: string): string;
  /** A word commands may start with in a shared room ("!wa help"). */
  commandPrefix: string;
  /** What a contact is called when users type one ("phone number"), with an example and the spellings understood. */
  contactNoun: string;
  contactExample: string;
  contactSpellings: string;
}

/** A contact device's safety number ("security code") with the Matrix user. */
export interface SafetyNumber {
  device: number;
  /** 60 digits; the same on both sides unless someone is in the middle. */
  digits: string;
  /** The scannable form as text, for a QR code the other side can scan (and for `verify <code>`). */
  qr: string;
}

/** A change to a contact's identity that the Matrix user has not been told about yet. */
export interface IdentityNews {
  device: number;
  kind: "changed" | "new_device";
  /** The user had verified the contact: say so prominently. */
  wasVerified: boolean;
  /** Names this change: notices about it use it, so a retry after a crash posts nothing twice. */
  ref: string;
}

export type VerifyResult = { ok: true; devices: number[] } | { ok: false; reason: "no_session" | "mismatch" };

export const REPORT_REASONS = ["spam", "abuse", "scam", "other"] as const;
export type ReportReasonName = (typeof REPORT_REASONS)[number];

/** Trust and safety as the network offers it: security codes, blocking and reporting contacts. */
export interface RemoteSafety {
  /** One per contact device with a session; empty before the first message either way. */
  safetyNumbers(matrixUser: string, contact: string): Promise<SafetyNumber[]>;
  /** Marks the contact's current identities verified; with a `code` (the digits, or a scanned QR text) only when it matches. */
  verify(matrixUser: string, contact: string, code?: string): Promise<VerifyResult>;
  /** Identity changes and new devices to announce. What is seen first is trusted silently (there is nothing to compare). */
  identityNews(matrixUser: string, contact: string): Promise<IdentityNews[]>;
  /** The notice for these went out. */
  identityNewsTold(matrixUser: string, contact: string, news: readonly IdentityNews[]): Promise<void>;
  /** Whether messages to the contact wait until the user verifies again (bridge.identity_change: block_until_verified). */
  mustReverify(matrixUser: string, contact: string): Promise<boolean>;
  /** The network refuses the contact's messages to the user from now on. Throws RemoteError. */
  block(matrixUser: string, contact: string): Promise<void>;
  unblock(matrixUser: string, contact: string): Promise<void>;
  /** The contacts the user blocked. */
  blocked(matrixUser: string): Promise<string[]>;
  /** Whether the user blocked the contact (answered from what the bridge knows; false when it cannot tell). */
  isBlocked(matrixUser: string, contact: string): Promise<boolean>;
  /** Reports the contact, naming messages by their network IDs; answers the network's reference for the report. */
  report(matrixUser: string, contact: string, messageIds: readonly string[], reason: ReportReasonName): Promise<string>;
}

export interface RemoteNetwork {
  readonly networkName: string;
  readonly ids: ContactIds;
  readonly text: TextDialect;
  readonly codec: ContentCodec;
  readonly phrases: NetworkPhrases;
  /** Looks a contact up in the network's directory; throws RemoteError (unknown_user, not_opted_in, ...). */
  lookup(asMatrixUser: string, contact: string): Promise<RemoteProfile>;
  /** Makes sure the Matrix user has an identity on the network (keys uploaded). */
  ensureIdentity(matrixUser: string): Promise<void>;
  /** Something was written to the store's outbox: deliver it. */
  wake(): void;
  status(): Promise<RemoteStatus>;
  /** Absent when the network offers none of it: the safety commands then say so. */
  readonly safety?: RemoteSafety;
}

/** User input that cannot be used; the message says why, for the user. */
export class InputError extends Error {
  override readonly name = "InputError";
}
