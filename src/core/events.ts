// The events the core handles, in its own terms. A network's codec turns its wire content into RemoteEvent and
// OutgoingEvent into its wire content; the Matrix side hands in MatrixEvent and MatrixEphemeralEvent.

/** A Matrix client event as it arrives in an appservice transaction. */
export interface MatrixEvent {
  type: string;
  room_id: string;
  sender: string;
  event_id: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts?: number;
  /** m.room.redaction before room version 11 (from v11 on it is content.redacts). */
  redacts?: string;
  /** For invites: `invite_room_state`, the stripped state of the room the invite is for. */
  unsigned?: Record<string, unknown>;
}

/** An ephemeral event from a transaction (m.typing, m.receipt); room_id is set by the homeserver. */
export interface MatrixEphemeralEvent {
  type: string;
  room_id?: string;
  content: Record<string, unknown>;
}

/**
 * Text in the remote network's own dialect (for WhatsApp: its inline markup). The core never looks inside; the
 * network's TextDialect converts it at the Matrix boundary.
 */
export type RemoteText = string;

/** Media as the network carries it; only the network's MediaPort and codec look inside. */
export type RemoteMedia = { readonly network: string; readonly value: unknown };

/** A sealed poll vote as the network carries it; only the network's codec looks inside. */
export type RemoteVote = { readonly network: string; readonly value: unknown };

/** What sealing or opening a vote needs to know of its poll. */
export interface PollKeys {
  pollMessageId: string;
  /** The network's ID of who created the poll. */
  creator: string;
  secret: Uint8Array;
  /** The option names, in the poll's order. */
  options: readonly string[];
}

/** `read_self`/`played_self`: the Matrix user's own other device read or played it (WhatsApp's read-self). */
export type ReceiptKind = "delivered" | "read" | "played" | "read_self" | "played_self";

/** What a message says about itself besides its content (WhatsApp's ContextInfo). */
export interface MessageContext {
  /** Contact IDs the text mentions; the network's dialect knows how a mention is written in the text. */
  mentions?: string[];
  forwarded?: boolean;
}

/** A link preview the sender's app made (the bridge never fetches a URL itself). */
export interface LinkPreview {
  url: string;
  title?: string;
  description?: string;
}

export interface Place {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  /** A web page for the place, as the sender's app gave it. */
  url?: string;
  accuracyMeters?: number;
}

export interface ContactCard {
  name: string;
  /** The vCard text (RFC 6350), as the network carries it. */
  vcard: string;
}

/** What a contact sent, decoded by the network's codec. */
export type RemoteEvent =
  | ({ kind: "message"; text: RemoteText; replyTo?: { messageId: string; quotedText?: RemoteText }; preview?: LinkPreview } & MessageContext)
  | ({ kind: "media"; media: RemoteMedia; what: string; replyTo?: string; sticker?: boolean } & MessageContext)
  /** A place; `live` when the contact shares their location live (updates follow as further events). */
  | ({ kind: "location"; place: Place; live: boolean; caption?: string; replyTo?: string } & MessageContext)
  | ({ kind: "contact"; cards: ContactCard[]; replyTo?: string } & MessageContext)
  /**
   * A poll; `maxSelections` 0 allows any number of answers. `secret`: what its votes are sealed with (the network's
   * codec knows how), kept with the poll so the contact's votes can be read and the user's own sealed.
   */
  | ({ kind: "poll"; question: string; options: string[]; maxSelections: number; secret?: Uint8Array } & MessageContext)
  /** A vote in the poll `pollId`, still sealed: the codec opens it with the poll's secret (ContentCodec.openVote). */
  | { kind: "poll_vote"; pollId: string; vote: RemoteVote }
  /** A message of the chat was pinned or unpinned for both sides. */
  | { kind: "pin"; targetId: string; pinned: boolean }
  | { kind: "edit"; targetId: string; text: RemoteText }
  | { kind: "delete"; targetId: string }
  /** An empty emoji takes the contact's reaction back. */
  | { kind: "reaction"; targetId: string; emoji: string }
  | { kind: "receipt"; receipt: ReceiptKind; messageIds: string[] }
  | { kind: "typing"; typing: boolean; audio: boolean }
  /** The contact changed the chat's disappearing-messages timer; 0 turns it off. */
  | { kind: "disappearing_timer"; seconds: number }
  /** Something the bridge cannot show; `what` names it for the notice ("a poll"), `detail` is for the log. */
  | { kind: "unsupported"; what: string; detail?: string };

export type RemoteEventKind = RemoteEvent["kind"];

/** A message of the chat that an outgoing event refers to. */
export interface MessageRef {
  messageId: string;
  /** The network's ID of who wrote it. */
  sender: string;
  /** Whether the Matrix user wrote it. */
  fromMe: boolean;
}

/** What the Matrix user does, for the network's codec to encode. */
export type OutgoingEvent =
  | { kind: "message"; text: RemoteText; emote: boolean; replyTo?: MessageRef; mentions?: string[]; preview?: LinkPreview }
  /** `sticker`: a Matrix m.sticker, which the network may show as a sticker. */
  | { kind: "media"; media: RemoteMedia; sticker?: boolean }
  | { kind: "location"; place: Place; replyTo?: MessageRef }
  /** A new poll; `maxSelections` 0 allows any number; `secret` is the one the core keeps for its votes. */
  | { kind: "poll"; question: string; options: string[]; maxSelections: number; secret: Uint8Array }
  /** The user's vote (indices into `poll.options`; none takes the vote back), sealed for the network as `voter`. */
  | { kind: "poll_vote"; poll: PollKeys & { ref: MessageRef }; voter: string; selected: number[] }
  | { kind: "pin"; target: MessageRef; pinned: boolean }
  | { kind: "edit"; target: MessageRef; text: RemoteText }
  | { kind: "delete"; target: MessageRef }
  /** An empty emoji takes the user's reaction back. */
  | { kind: "reaction"; target: MessageRef; emoji: string }
  | { kind: "receipt"; receipt: "read"; messageIds: string[] }
  | { kind: "typing"; typing: boolean }
  /** The Matrix user changed the chat's disappearing-messages timer; 0 turns it off. */
  | { kind: "disappearing_timer"; seconds: number };
