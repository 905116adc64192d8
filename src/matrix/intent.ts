/**
 * Client-server API operations on behalf of one user of the appservice's namespace (a puppet or the bridge bot).
 *
 * Conventions: IDs given by the caller are checked before anything is sent; IDs coming back are checked before they
 * are returned. Reads of things that may legitimately be absent (a profile, a state event, account data) resolve
 * with `null` on 404; every other failure is thrown (see errors.ts).
 */
import { z } from "zod";
import type { MatrixTransport, RawBody, RequestOptions } from "./transport.js";
import { MatrixApiError, MatrixResponseError } from "./errors.js";
import {
  clientEventSchema,
  contentSchema,
  eventIdSchema,
  roomIdSchema,
  userIdSchema,
  type ClientEvent,
  type EventContent,
} from "./events.js";
import { assertEventId, assertMxc, assertRoomId, assertUserId, InvalidMatrixIdError, isRoomAlias, isRoomId, isMxcUri, userLocalpart } from "./ids.js";
import { downloadMedia, type DownloadedMedia, type DownloadOptions } from "./media.js";

export type RoomPreset = "private_chat" | "public_chat" | "trusted_private_chat";

/** `POST /createRoom` body; the fields the bridge uses are typed, anything else passes through. */
export interface CreateRoomRequest {
  visibility?: "public" | "private";
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  room_version?: string;
  creation_content?: Record<string, unknown>;
  initial_state?: Array<{ type: string; state_key?: string; content: Record<string, unknown> }>;
  preset?: RoomPreset;
  is_direct?: boolean;
  power_level_content_override?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Profile {
  displayName?: string;
  avatarUrl?: string;
}

export interface JoinedMember {
  displayName?: string;
  avatarUrl?: string;
}

export interface WhoAmI {
  userId: string;
  deviceId?: string;
}

export type Membership = "invite" | "join" | "leave" | "ban" | "knock";

const roomIdResponse = z.object({ room_id: roomIdSchema });
const eventIdResponse = z.object({ event_id: eventIdSchema });
const mxcResponse = z.object({ content_uri: z.string().refine(isMxcUri, { message: "not a valid mxc URI" }) });
const profileResponse = z.looseObject({
  displayname: z.string().nullish(),
  avatar_url: z.string().nullish(),
});
const whoamiResponse = z.looseObject({ user_id: userIdSchema, device_id: z.string().nullish() });
const joinedMembersResponse = z.object({
  joined: z.record(
    userIdSchema,
    z.looseObject({ display_name: z.string().nullish(), avatar_url: z.string().nullish() }),
  ),
});
const membersResponse = z.object({ chunk: z.array(clientEventSchema) });
const messagesResponse = z.object({ chunk: z.array(clientEventSchema), end: z.string().nullish() });
const stateResponse = z.array(clientEventSchema);

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/**
 * A 404 about the thing asked for. Synapse answers a missing profile with M_UNKNOWN ("No row found"), so the errcode
 * is not required to be M_NOT_FOUND; M_UNRECOGNIZED, though, means the endpoint itself is unknown.
 */
function isNotFound(error: unknown): boolean {
  return error instanceof MatrixApiError && error.status === 404 && error.errcode !== "M_UNRECOGNIZED";
}

function requireNonEmpty(value: string, what: string): void {
  if (value.length === 0) throw new TypeError(`${what} must not be empty`);
}

export class MatrixIntent {
  constructor(
    readonly client: MatrixTransport,
    readonly userId: string,
    /** Sends as this device of the user (MSC4190 device masquerading) when set. */
    readonly deviceId?: string,
  ) {}

  /** A copy of this intent that acts as one of the user's devices. */
  withDevice(deviceId: string): MatrixIntent {
    return new MatrixIntent(this.client, this.userId, deviceId);
  }

  #request(method: "GET" | "POST" | "PUT" | "DELETE", path: string, options: RequestOptions = {}): Promise<unknown> {
    return this.client.request(method, path, { ...options, ...this.#identity() });
  }

  #validated<S extends z.ZodType>(schema: S, method: "GET" | "POST" | "PUT" | "DELETE", path: string, options: RequestOptions = {}): Promise<z.output<S>> {
    return this.client.requestValidated(schema, method, path, { ...options, ...this.#identity() });
  }

  #identity(): Pick<RequestOptions, "asUser" | "asDevice"> {
    return this.deviceId === undefined ? { asUser: this.userId } : { asUser: this.userId, asDevice: this.deviceId };
  }

  // --- account -------------------------------------------------------------------------------------------------

  /**
   * Registers the user with the homeserver unless it exists. Resolves with whether this call created it.
   * Remembered per process, so calling it before every action costs nothing after the first time.
   */
  async ensureRegistered(): Promise<"registered" | "already-registered"> {
    if (this.client.registeredUsers.has(this.userId)) return "already-registered";
    let outcome: "registered" | "already-registered" = "registered";
    try {
      // No user_id here: the user does not exist yet, so the homeserver could not act as it.
      await this.client.request("POST", "/_matrix/client/v3/register", {
        body: { type: "m.login.application_service", username: userLocalpart(this.userId), inhibit_login: true },
        idempotent: true,
      });
    } catch (error) {
      if (!(error instanceof MatrixApiError && error.errcode === "M_USER_IN_USE")) throw error;
      outcome = "already-registered";
    }
    this.client.registeredUsers.add(this.userId);
    return outcome;
  }

  /** Creates the device if it does not exist (MSC4190) and sets its display name. */
  async ensureDevice(deviceId: string, displayName: string): Promise<void> {
    requireNonEmpty(deviceId, "device ID");
    // Acting as a device that does not exist yet would be refused, so only user_id goes with this request.
    await this.client.request("PUT", `/_matrix/client/v3/devices/${enc(deviceId)}`, {
      asUser: this.userId,
      body: { display_name: displayName },
    });
  }

  async whoami(): Promise<WhoAmI> {
    const data = await this.#validated(whoamiResponse, "GET", "/_matrix/client/v3/account/whoami");
    return data.device_id ? { userId: data.user_id, deviceId: data.device_id } : { userId: data.user_id };
  }

  // --- profile -------------------------------------------------------------------------------------------------

  async setDisplayName(displayName: string): Promise<void> {
    await this.#request("PUT", `/_matrix/client/v3/profile/${enc(this.userId)}/displayname`, {
      body: { displayname: displayName },
    });
  }

  /** Sets the avatar; an empty string removes it. */
  async setAvatarUrl(mxc: string): Promise<void> {
    if (mxc !== "") assertMxc(mxc);
    await this.#request("PUT", `/_matrix/client/v3/profile/${enc(this.userId)}/avatar_url`, { body: { avatar_url: mxc } });
  }

  /** Another user's (or this user's) global profile; null if the homeserver knows no such profile. */
  async getProfile(userId: string): Promise<Profile | null> {
    assertUserId(userId);
    try {
      const data = await this.#validated(profileResponse, "GET", `/_matrix/client/v3/profile/${enc(userId)}`);
      const profile: Profile = {};
      if (data.displayname) profile.displayName = data.displayname;
      if (data.avatar_url) profile.avatarUrl = data.avatar_url;
      return profile;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  // --- rooms ---------------------------------------------------------------------------------------------------

  /** Creates a room and returns its ID. Not retried after a lost answer: a repeat would create a second room. */
  async createRoom(body: CreateRoomRequest): Promise<string> {
    for (const invitee of body.invite ?? []) assertUserId(invitee);
    const data = await this.#validated(roomIdResponse, "POST", "/_matrix/client/v3/createRoom", { body });
    return data.room_id;
  }

  async invite(roomId: string, userId: string, reason?: string): Promise<void> {
    assertRoomId(roomId);
    assertUserId(userId);
    await this.#request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, {
      body: reason === undefined ? { user_id: userId } : { user_id: userId, reason },
      idempotent: true,
    });
  }

  /** Joins by room ID or alias; `via` names servers to join through. Returns the room ID. */
  async join(roomIdOrAlias: string, via: readonly string[] = []): Promise<string> {
    if (!isRoomId(roomIdOrAlias) && !isRoomAlias(roomIdOrAlias)) {
      throw new InvalidMatrixIdError("room ID or alias", roomIdOrAlias);
    }
    const data = await this.#validated(roomIdResponse, "POST", `/_matrix/client/v3/join/${enc(roomIdOrAlias)}`, {
      body: {},
      query: via.length > 0 ? { via } : {},
      idempotent: true,
    });
    return data.room_id;
  }

  async leave(roomId: string, reason?: string): Promise<void> {
    assertRoomId(roomId);
    await this.#request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {
      body: reason === undefined ? {} : { reason },
      idempotent: true,
    });
  }

  // --- events --------------------------------------------------------------------------------------------------

  /**
   * Sends a message event. `txnId` must be stable across retries of the same logical send: the homeserver then
   * answers a repeat with the first event's ID instead of sending a duplicate.
   *
   * How long that holds depends on the homeserver. Synapse remembers transaction IDs of requests sent as a device
   * (this intent has a `deviceId`) in its database; without a device only in memory for 30 minutes, keyed by the
   * appservice rather than the user, so transaction IDs must be unique across all users of the appservice.
   */
  async sendEvent(roomId: string, type: string, content: EventContent, txnId: string): Promise<string> {
    assertRoomId(roomId);
    requireNonEmpty(type, "event type");
    requireNonEmpty(txnId, "transaction ID");
    const data = await this.#validated(
      eventIdResponse,
      "PUT",
      `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`,
      { body: content },
    );
    return data.event_id;
  }

  async sendStateEvent(roomId: string, type: string, stateKey: string, content: EventContent): Promise<string> {
    assertRoomId(roomId);
    requireNonEmpty(type, "event type");
    const data = await this.#validated(
      eventIdResponse,
      "PUT",
      `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`,
      { body: content },
    );
    return data.event_id;
  }

  /** The content of a state event, or null if the room has none of that type and key. */
  async getStateEvent(roomId: string, type: string, stateKey = ""): Promise<EventContent | null> {
    assertRoomId(roomId);
    requireNonEmpty(type, "event type");
    try {
      return await this.#validated(
        contentSchema,
        "GET",
        `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`,
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async getRoomState(roomId: string): Promise<ClientEvent[]> {
    assertRoomId(roomId);
    return this.#validated(stateResponse, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state`);
  }

  /** One event of a room (e.g. the original of a reply), as this user may see it. */
  async getEvent(roomId: string, eventId: string): Promise<ClientEvent> {
    assertRoomId(roomId);
    assertEventId(eventId);
    return this.#validated(clientEventSchema, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`);
  }

  /** Redacts an event; idempotent per `txnId` like `sendEvent`. Returns the redaction's event ID. */
  async redact(roomId: string, eventId: string, txnId: string, reason?: string): Promise<string> {
    assertRoomId(roomId);
    assertEventId(eventId);
    requireNonEmpty(txnId, "transaction ID");
    const data = await this.#validated(
      eventIdResponse,
      "PUT",
      `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(txnId)}`,
      { body: reason === undefined ? {} : { reason } },
    );
    return data.event_id;
  }

  async sendReadReceipt(roomId: string, eventId: string): Promise<void> {
    assertRoomId(roomId);
    assertEventId(eventId);
    await this.#request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, {
      body: {},
      idempotent: true,
    });
  }

  async setTyping(roomId: string, typing: boolean, timeoutMs = 30_000): Promise<void> {
    assertRoomId(roomId);
    await this.#request("PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(this.userId)}`, {
      body: typing ? { typing: true, timeout: timeoutMs } : { typing: false },
    });
  }

  // --- members -------------------------------------------------------------------------------------------------

  /** Joined members by user ID. */
  async getJoinedMembers(roomId: string): Promise<Map<string, JoinedMember>> {
    assertRoomId(roomId);
    const data = await this.#validated(joinedMembersResponse, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`);
    const members = new Map<string, JoinedMember>();
    for (const [userId, info] of Object.entries(data.joined)) {
      const member: JoinedMember = {};
      if (info.display_name) member.displayName = info.display_name;
      if (info.avatar_url) member.avatarUrl = info.avatar_url;
      members.set(userId, member);
    }
    return members;
  }

  /** The `m.room.member` events of a room, optionally filtered by membership. */
  async getRoomMembers(roomId: string, filter: { membership?: Membership; notMembership?: Membership } = {}): Promise<ClientEvent[]> {
    assertRoomId(roomId);
    const data = await this.#validated(membersResponse, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/members`, {
      query: { membership: filter.membership, not_membership: filter.notMembership },
    });
    return data.chunk;
  }

  /** A page of the room's timeline (`dir` "f" from its start when `from` is absent), as this user may see it. */
  async getRoomMessages(roomId: string, options: { dir: "f" | "b"; from?: string; limit?: number }): Promise<{ chunk: ClientEvent[]; end?: string | undefined }> {
    assertRoomId(roomId);
    const data = await this.#validated(messagesResponse, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, {
      query: { dir: options.dir, from: options.from, limit: options.limit === undefined ? undefined : String(options.limit) },
    });
    return { chunk: data.chunk, end: data.end ?? undefined };
  }

  // --- account data --------------------------------------------------------------------------------------------

  async setAccountData(type: string, content: EventContent): Promise<void> {
    requireNonEmpty(type, "account data type");
    await this.#request("PUT", `/_matrix/client/v3/user/${enc(this.userId)}/account_data/${enc(type)}`, { body: content });
  }

  /** This user's global account data of a type, or null if none is set. */
  async getAccountData(type: string): Promise<EventContent | null> {
    requireNonEmpty(type, "account data type");
    try {
      return await this.#validated(contentSchema, "GET", `/_matrix/client/v3/user/${enc(this.userId)}/account_data/${enc(type)}`);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async setRoomAccountData(roomId: string, type: string, content: EventContent): Promise<void> {
    assertRoomId(roomId);
    requireNonEmpty(type, "account data type");
    await this.#request(
      "PUT",
      `/_matrix/client/v3/user/${enc(this.userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`,
      { body: content },
    );
  }

  async getRoomAccountData(roomId: string, type: string): Promise<EventContent | null> {
    assertRoomId(roomId);
    requireNonEmpty(type, "account data type");
    try {
      return await this.#validated(
        contentSchema,
        "GET",
        `/_matrix/client/v3/user/${enc(this.userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`,
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  // --- to-device -----------------------------------------------------------------------------------------------

  /** Sends to-device messages: user ID -> device ID (or "*") -> content. Idempotent per `txnId`. */
  async sendToDevice(type: string, messages: Record<string, Record<string, EventContent>>, txnId: string): Promise<void> {
    requireNonEmpty(type, "event type");
    requireNonEmpty(txnId, "transaction ID");
    for (const userId of Object.keys(messages)) assertUserId(userId);
    await this.#request("PUT", `/_matrix/client/v3/sendToDevice/${enc(type)}/${enc(txnId)}`, { body: { messages } });
  }

  // --- media ---------------------------------------------------------------------------------------------------

  /**
   * Uploads media and returns its mxc URI. Byte arrays are retried like any idempotent request (a repeat only
   * leaves an unused copy behind); streams cannot be replayed and get one attempt. Synapse refuses uploads without
   * a Content-Length, so a stream needs its size in `contentLength` (a stream of another length fails the upload).
   */
  async uploadContent(data: RawBody, contentType: string, filename?: string, contentLength?: number): Promise<string> {
    requireNonEmpty(contentType, "content type");
    if (!(data instanceof Uint8Array)) {
      if (contentLength === undefined || !Number.isSafeInteger(contentLength) || contentLength < 0) {
        throw new TypeError("a streamed upload needs its size in bytes (contentLength)");
      }
    }
    const response = await this.client.requestRaw("POST", "/_matrix/media/v3/upload", {
      ...this.#identity(),
      query: { filename },
      rawBody: data,
      contentType,
      ...(contentLength === undefined ? {} : { contentLength }),
      idempotent: true,
      // Large files over a slow link take longer than a JSON call; the limit is per attempt.
      timeoutMs: 10 * 60_000,
    });
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new MatrixResponseError("POST", "/_matrix/media/v3/upload", "body is not JSON");
    }
    const parsed = mxcResponse.safeParse(body);
    if (!parsed.success) throw new MatrixResponseError("POST", "/_matrix/media/v3/upload", "no valid content_uri");
    return parsed.data.content_uri;
  }

  /** Downloads media through the authenticated media API; the body streams. */
  downloadContent(mxc: string, options: DownloadOptions = {}): Promise<DownloadedMedia> {
    return downloadMedia(this.client, mxc, { ...options, asUser: this.userId });
  }
}
