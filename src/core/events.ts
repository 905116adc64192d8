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

export type ReceiptKind = "delivered" | "read" | "played";

/** What a contact sent, decoded by the network's codec. */
export type RemoteEvent =
  | { kind: "message"; text: RemoteText; replyTo?: { messageId: string; quotedText?: RemoteText } }
  | { kind: "media"; media: RemoteMedia; what: string; replyTo?: string }
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
  | { kind: "message"; text: RemoteText; emote: boolean; replyTo?: MessageRef }
  | { kind: "media"; media: RemoteMedia }
  | { kind: "edit"; target: MessageRef; text: RemoteText }
  | { kind: "delete"; target: MessageRef }
  /** An empty emoji takes the user's reaction back. */
  | { kind: "reaction"; target: MessageRef; emoji: string }
  | { kind: "receipt"; receipt: "read"; messageIds: string[] }
  | { kind: "typing"; typing: boolean }
  /** The Matrix user changed the chat's disappearing-messages timer; 0 turns it off. */
  | { kind: "disappearing_timer"; seconds: number };
