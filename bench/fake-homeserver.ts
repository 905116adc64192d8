/**
 * A minimal homeserver for the bridge-only benchmark: a real HTTP server on loopback that answers the client-server
 * API calls the bridge makes (register, profile, createRoom, join, invite, leave, send, state, members, receipts,
 * typing, appservice ping, whoami, devices and keys, to-device, ...) from in-memory state, and pushes every room
 * event to the appservice in transactions, as Synapse does (including the echoes of the bridge's own events, which
 * the bridge must digest too), with to-device messages and device-list changes.
 *
 * It is not a homeserver: no federation, no auth rules beyond membership for sending, no sync. It checks what a
 * homeserver checks of an appservice (the as_token, that acting users are in its namespace and registered) and
 * records every request it could not answer, so a benchmark never reports numbers for work that silently failed.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Registration } from "../src/config/registration.js";
import type { ClientEvent } from "../src/matrix/events.js";
import { FakeKeyDirectory } from "./fake-key-directory.js";
import { TransactionPusher } from "./transaction-pusher.js";

type Membership = "invite" | "join" | "leave";
type Content = Record<string, unknown>;

interface Room {
  id: string;
  members: Map<string, Membership>;
  /** Current state by type and state key. */
  state: Map<string, ClientEvent>;
}

/** An event a user of the appservice sent into a room, and when the request for it arrived. */
export interface PostedEvent {
  eventId: string;
  roomId: string;
  sender: string;
  type: string;
  content: Content;
  receivedAt: number;
}

export interface FakeHomeserverOptions {
  serverName: string;
  /** The appservice's registration: tokens, namespaces, and the URL transactions are pushed to. */
  registration: Registration;
}

class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(message);
  }
}

const CS = "/_matrix/client/v3";

export class FakeHomeserver {
  /** Requests that could not be answered as a homeserver would (unknown endpoints, refused actions). */
  readonly problems: string[] = [];
  private readonly rooms = new Map<string, Room>();
  private readonly registered = new Set<string>();
  private readonly localUsers = new Set<string>();
  private readonly displayNames = new Map<string, string>();
  private readonly sentTxns = new Map<string, string>();
  private readonly eventListeners = new Set<(e: PostedEvent) => void>();
  private readonly changeListeners = new Set<() => void>();
  private readonly namespace: RegExp[];
  private readonly botUserId: string;
  private readonly pusher: TransactionPusher;
  readonly keys: FakeKeyDirectory;
  private app!: FastifyInstance;
  private _url = "";

  private constructor(private readonly o: FakeHomeserverOptions) {
    this.namespace = o.registration.namespaces.users.map((n) => new RegExp(n.regex));
    this.botUserId = `@${o.registration.sender_localpart}:${o.serverName}`;
    this.pusher = new TransactionPusher(o.registration.url.replace(/\/+$/, ""), o.registration.hs_token);
    this.keys = new FakeKeyDirectory({
      actor: (req) => ({ userId: this.actor(req), deviceId: this.actingDevice(req) }),
      isAppserviceUser: (userId) => this.inNamespace(userId),
      pushToDevice: (ev) => this.pusher.pushToDevice(ev),
      deviceListChanged: (userId) => this.pusher.deviceListChanged(userId),
      badRequest: (message) => new MatrixError(400, "M_INVALID_PARAM", message),
    });
  }

  static async start(o: FakeHomeserverOptions): Promise<FakeHomeserver> {
    const hs = new FakeHomeserver(o);
    await hs.listen();
    return hs;
  }

  get url(): string {
    return this._url;
  }

  /** Problems from both directions: requests this server refused and transactions the appservice refused. */
  allProblems(): string[] {
    return [...this.problems, ...this.pusher.refused];
  }

  /** A user of this homeserver outside the appservice (the person using the bridge). Accepts every invite. */
  addLocalUser(userId: string): void {
    this.localUsers.add(userId);
    this.registered.add(userId);
  }

  /** Every event appservice users send with PUT /send (messages, notices, reactions, ...), as it arrives. */
  onEvent(listener: (e: PostedEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called after every change of membership, to wait for joins. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  joinedMembers(roomId: string): string[] {
    return [...this.requireRoom(roomId).members].filter(([, m]) => m === "join").map(([u]) => u);
  }

  isEncrypted(roomId: string): boolean {
    return this.requireRoom(roomId).state.has("m.room.encryption\u0000");
  }

  membership(roomId: string, userId: string): Membership | undefined {
    return this.rooms.get(roomId)?.members.get(userId);
  }

  /**
   * A local user creates a direct chat and invites `invitees`. Like Synapse, it first asks the appservice about
   * invitees in its namespace that nobody registered yet (the bridge creates the puppet then).
   */
  async createRoomAs(creator: string, invitees: string[], opts: { encrypted: boolean }): Promise<string> {
    for (const invitee of invitees) {
      if (this.inNamespace(invitee) && !this.registered.has(invitee)) await this.queryAppserviceUser(invitee);
    }
    return this.createRoom(creator, { invite: invitees, is_direct: true, initial_state: opts.encrypted ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] : [] });
  }

  /** A local user sends a message event; it reaches the appservice in the next transaction. */
  sendAs(sender: string, roomId: string, type: string, content: Content): string {
    const room = this.requireRoom(roomId);
    if (room.members.get(sender) !== "join") throw new MatrixError(403, "M_FORBIDDEN", `${sender} is not in ${roomId}`);
    return this.emit(room, sender, type, content);
  }

  async close(): Promise<void> {
    await this.pusher.close();
    await this.app.close();
  }

  // ------------------------------------------------------------------------------------------------ state changes

  private newId(sigil: "!" | "$"): string {
    const opaque = randomBytes(12).toString("base64url");
    return sigil === "!" ? `!${opaque}:${this.o.serverName}` : `$${opaque}`;
  }

  private emit(room: Room, sender: string, type: string, content: Content, stateKey?: string, unsigned?: Record<string, unknown>): string {
    const event: ClientEvent = {
      event_id: this.newId("$"),
      room_id: room.id,
      sender,
      type,
      origin_server_ts: Date.now(),
      content,
      ...(stateKey === undefined ? {} : { state_key: stateKey }),
      ...(unsigned === undefined ? {} : { unsigned }),
    };
    if (stateKey !== undefined) room.state.set(`${type}\u0000${stateKey}`, event);
    this.pusher.push(event);
    return event.event_id;
  }

  private setMembership(room: Room, sender: string, target: string, membership: Membership, extra: Content = {}): string {
    room.members.set(target, membership);
    const displayname = this.displayNames.get(target);
    // Like Synapse (room_prejoin_state): an invite carries the room's stripped state, so the invitee learns before
    // joining whether the room is encrypted.
    const unsigned = membership === "invite" ? { invite_room_state: this.strippedState(room) } : undefined;
    const eventId = this.emit(room, sender, "m.room.member", { membership, ...(displayname ? { displayname } : {}), ...extra }, target, unsigned);
    for (const l of this.changeListeners) l();
    // The person using the bridge accepts invites straight away, as the benchmark's Matrix user would.
    if (membership === "invite" && this.localUsers.has(target)) this.setMembership(room, target, target, "join");
    return eventId;
  }

  private strippedState(room: Room): { type: string; state_key: string; sender: string; content: Content }[] {
    const kinds = new Set(["m.room.create", "m.room.encryption", "m.room.join_rules", "m.room.name", "m.room.avatar", "m.room.canonical_alias"]);
    return [...room.state.values()].filter((e) => kinds.has(e.type)).map((e) => ({ type: e.type, state_key: e.state_key ?? "", sender: e.sender, content: e.content }));
  }

  private createRoom(creator: string, body: Content): string {
    const room: Room = { id: this.newId("!"), members: new Map(), state: new Map() };
    this.rooms.set(room.id, room);
    this.emit(room, creator, "m.room.create", { room_version: "11" }, "");
    this.setMembership(room, creator, creator, "join");
    const initialState = Array.isArray(body.initial_state) ? (body.initial_state as { type?: unknown; state_key?: unknown; content?: unknown }[]) : [];
    for (const s of initialState) {
      if (typeof s.type === "string") this.emit(room, creator, s.type, (s.content ?? {}) as Content, typeof s.state_key === "string" ? s.state_key : "");
    }
    const invite = Array.isArray(body.invite) ? (body.invite as unknown[]).filter((u): u is string => typeof u === "string") : [];
    for (const target of invite) this.setMembership(room, creator, target, "invite", body.is_direct === true ? { is_direct: true } : {});
    return room.id;
  }

  private requireRoom(roomId: string): Room {
    const room = this.rooms.get(roomId);
    if (!room) throw new MatrixError(404, "M_NOT_FOUND", `unknown room ${roomId}`);
    return room;
  }

  private requireJoined(room: Room, userId: string): void {
    if (room.members.get(userId) !== "join") throw new MatrixError(403, "M_FORBIDDEN", `${userId} is not in room ${room.id}`);
  }

  private inNamespace(userId: string): boolean {
    return userId === this.botUserId || this.namespace.some((r) => r.test(userId));
  }

  private async queryAppserviceUser(userId: string): Promise<void> {
    const url = `${this.o.registration.url.replace(/\/+$/, "")}/_matrix/app/v1/users/${encodeURIComponent(userId)}`;
    let res: Response | undefined;
    // A kept-alive connection the appservice just closed fails the request before it was sent; Synapse retries such
    // requests too, so one more attempt on a fresh connection is what a homeserver does, not leniency.
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await fetch(url, { headers: { authorization: `Bearer ${this.o.registration.hs_token}` } });
      } catch (err) {
        const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
        if (attempt < 3 && cause?.code === "UND_ERR_SOCKET") continue;
        // undici says only "fetch failed"; the reason (refused, reset, timed out) is in the cause.
        throw new Error(`asking the appservice about ${userId} failed: ${String(cause?.code ?? "")} ${String(cause?.message ?? (err as Error).message)}`.trim());
      }
    }
    if (!res.ok) throw new MatrixError(404, "M_NOT_FOUND", `the appservice does not know ${userId} (${res.status})`);
    if (!this.registered.has(userId)) throw new MatrixError(404, "M_NOT_FOUND", `the appservice answered for ${userId} but did not register it`);
  }

  // ------------------------------------------------------------------------------------------------ HTTP

  /** The user an appservice request acts as: `user_id`, or the appservice's own bot. */
  private actor(req: FastifyRequest, mustExist = true): string {
    const userId = (req.query as { user_id?: unknown }).user_id;
    const actor = typeof userId === "string" ? userId : this.botUserId;
    if (!this.inNamespace(actor)) throw new MatrixError(403, "M_EXCLUSIVE", `${actor} is not in the appservice's namespace`);
    if (mustExist && !this.registered.has(actor)) throw new MatrixError(403, "M_FORBIDDEN", `the appservice has not registered ${actor}`);
    return actor;
  }

  /** The device a request acts as (MSC4190 device masquerading), if it names one. */
  private actingDevice(req: FastifyRequest): string | undefined {
    const deviceId = (req.query as { device_id?: unknown }).device_id;
    return typeof deviceId === "string" ? deviceId : undefined;
  }

  private async listen(): Promise<void> {
    const app = Fastify({ logger: false, routerOptions: { maxParamLength: 1024 } });
    this.app = app;
    // Bodies are JSON whatever their Content-Type says, as on Synapse.
    const parseJson = app.getDefaultJsonParser("error", "error");
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "string" }, parseJson);

    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err instanceof MatrixError ? err.status : (err.statusCode ?? 500);
      const errcode = err instanceof MatrixError ? err.errcode : "M_UNKNOWN";
      this.problems.push(`${req.method} ${req.routeOptions.url ?? req.url.split("?")[0]}: ${status} ${errcode}: ${err.message}`);
      return reply.code(status).send({ errcode, error: err.message });
    });
    app.setNotFoundHandler((req, reply) => {
      this.problems.push(`${req.method} ${req.url.split("?")[0]}: not implemented by the fake homeserver`);
      return reply.code(404).send({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    });
    app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
      // Like Synapse, /versions answers without a token (the bridge waits for it at start-up).
      if (req.method === "GET" && req.url.split("?")[0] === "/_matrix/client/versions") return;
      const auth = req.headers.authorization;
      if (!auth?.startsWith("Bearer ")) return reply.code(401).send({ errcode: "M_MISSING_TOKEN", error: "Missing access token" });
      if (auth.slice(7) !== this.o.registration.as_token) return reply.code(401).send({ errcode: "M_UNKNOWN_TOKEN", error: "Unknown access token" });
    });

    this.routes(app);
    this.keys.routes(app);
    await app.listen({ host: "127.0.0.1", port: 0 });
    this._url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  private routes(app: FastifyInstance): void {
    type P<T> = FastifyRequest<{ Params: T }>;

    app.post(`${CS}/register`, async (req, reply) => {
      const body = (req.body ?? {}) as { type?: unknown; username?: unknown };
      if (body.type !== "m.login.application_service") throw new MatrixError(400, "M_BAD_JSON", "only appservice registration is possible here");
      if (typeof body.username !== "string" || body.username === "") throw new MatrixError(400, "M_INVALID_USERNAME", "username missing");
      const userId = `@${body.username}:${this.o.serverName}`;
      if (!this.inNamespace(userId)) throw new MatrixError(400, "M_EXCLUSIVE", `${userId} is outside the appservice's namespace`);
      // Expected when the bridge restarts; not a problem, so answered here rather than thrown.
      if (this.registered.has(userId)) return reply.code(400).send({ errcode: "M_USER_IN_USE", error: "User ID already taken" });
      this.registered.add(userId);
      return { user_id: userId };
    });

    app.get("/_matrix/client/versions", async () => ({ versions: ["v1.11", "v1.12"], unstable_features: {} }));

    app.get(`${CS}/account/whoami`, async (req) => ({ user_id: this.actor(req) }));

    app.get(`${CS}/profile/:userId`, async (req: P<{ userId: string }>, reply) => {
      const name = this.displayNames.get(req.params.userId);
      // Synapse's answer for a profile it has no row for; the bridge reads it as "no profile".
      if (name === undefined) return reply.code(404).send({ errcode: "M_NOT_FOUND", error: "Profile was not found" });
      return { displayname: name };
    });

    app.put(`${CS}/profile/:userId/displayname`, async (req: P<{ userId: string }>) => {
      const actor = this.actor(req);
      if (actor !== req.params.userId) throw new MatrixError(403, "M_FORBIDDEN", `${actor} cannot change the profile of ${req.params.userId}`);
      const name = (req.body as { displayname?: unknown } | undefined)?.displayname;
      if (typeof name !== "string") throw new MatrixError(400, "M_BAD_JSON", "displayname missing");
      this.displayNames.set(actor, name);
      // Synapse updates the member event in every room the user is in; the appservice sees those too.
      for (const room of this.rooms.values()) if (room.members.get(actor) === "join") this.setMembership(room, actor, actor, "join");
      return {};
    });

    app.put(`${CS}/profile/:userId/avatar_url`, async (req) => {
      this.actor(req);
      return {};
    });

    app.post(`${CS}/createRoom`, async (req) => ({ room_id: this.createRoom(this.actor(req), (req.body ?? {}) as Content) }));

    app.post(`${CS}/join/:room`, async (req: P<{ room: string }>) => {
      const actor = this.actor(req);
      const room = this.requireRoom(req.params.room);
      const now = room.members.get(actor);
      if (now !== "invite" && now !== "join") throw new MatrixError(403, "M_FORBIDDEN", `${actor} is not invited to ${room.id}`);
      if (now === "invite") this.setMembership(room, actor, actor, "join");
      return { room_id: room.id };
    });

    app.post(`${CS}/rooms/:roomId/invite`, async (req: P<{ roomId: string }>) => {
      const actor = this.actor(req);
      const room = this.requireRoom(req.params.roomId);
      this.requireJoined(room, actor);
      const target = (req.body as { user_id?: unknown } | undefined)?.user_id;
      if (typeof target !== "string") throw new MatrixError(400, "M_BAD_JSON", "user_id missing");
      if (room.members.get(target) !== "join") this.setMembership(room, actor, target, "invite");
      return {};
    });

    app.post(`${CS}/rooms/:roomId/leave`, async (req: P<{ roomId: string }>) => {
      const actor = this.actor(req);
      const room = this.requireRoom(req.params.roomId);
      if (room.members.has(actor) && room.members.get(actor) !== "leave") this.setMembership(room, actor, actor, "leave");
      return {};
    });

    app.put(`${CS}/rooms/:roomId/send/:type/:txnId`, async (req: P<{ roomId: string; type: string; txnId: string }>) => {
      const receivedAt = Date.now();
      const actor = this.actor(req);
      const room = this.requireRoom(req.params.roomId);
      this.requireJoined(room, actor);
      // Like Synapse: a repeated transaction ID gets the first event's ID and sends nothing.
      const txnKey = `${actor}\u0000${req.params.txnId}`;
      const earlier = this.sentTxns.get(txnKey);
      if (earlier) return { event_id: earlier };
      const content = (req.body ?? {}) as Content;
      const eventId = this.emit(room, actor, req.params.type, content);
      this.sentTxns.set(txnKey, eventId);
      const posted: PostedEvent = { eventId, roomId: room.id, sender: actor, type: req.params.type, content, receivedAt };
      for (const l of this.eventListeners) l(posted);
      return { event_id: eventId };
    });

    app.put(`${CS}/rooms/:roomId/state/*`, async (req: P<{ roomId: string; "*": string }>) => {
      const actor = this.actor(req);
      const room = this.requireRoom(req.params.roomId);
      this.requireJoined(room, actor);
      const [type = "", ...rest] = req.params["*"].split("/").map(decodeURIComponent);
      return { event_id: this.emit(room, actor, type, (req.body ?? {}) as Content, rest.join("/")) };
    });

    app.get(`${CS}/rooms/:roomId/state/*`, async (req: P<{ roomId: string; "*": string }>, reply) => {
      this.actor(req);
      const room = this.requireRoom(req.params.roomId);
      const [type = "", ...rest] = req.params["*"].split("/").map(decodeURIComponent);
      const event = room.state.get(`${type}\u0000${rest.join("/")}`);
      // A state event that is not there is an answer, not a problem.
      return event?.content ?? reply.code(404).send({ errcode: "M_NOT_FOUND", error: "Event not found" });
    });

    app.get(`${CS}/rooms/:roomId/state`, async (req: P<{ roomId: string }>) => {
      this.actor(req);
      return [...this.requireRoom(req.params.roomId).state.values()];
    });

    app.get(`${CS}/rooms/:roomId/members`, async (req: P<{ roomId: string }>) => {
      this.actor(req);
      const room = this.requireRoom(req.params.roomId);
      return { chunk: [...room.state.values()].filter((e) => e.type === "m.room.member") };
    });

    // The bench's users write only after the puppet joined, so a new portal finds nothing to send from before.
    app.get(`${CS}/rooms/:roomId/messages`, async (req: P<{ roomId: string }>) => {
      this.actor(req);
      this.requireRoom(req.params.roomId);
      return { chunk: [] };
    });

    app.get(`${CS}/rooms/:roomId/joined_members`, async (req: P<{ roomId: string }>) => {
      this.actor(req);
      const room = this.requireRoom(req.params.roomId);
      const joined: Record<string, { display_name?: string }> = {};
      for (const [userId, m] of room.members) {
        const name = this.displayNames.get(userId);
        if (m === "join") joined[userId] = name ? { display_name: name } : {};
      }
      return { joined };
    });

    app.post(`${CS}/rooms/:roomId/receipt/:type/:eventId`, async (req: P<{ roomId: string }>) => {
      this.requireJoined(this.requireRoom(req.params.roomId), this.actor(req));
      return {};
    });

    app.put(`${CS}/rooms/:roomId/typing/:userId`, async (req: P<{ roomId: string }>) => {
      this.requireJoined(this.requireRoom(req.params.roomId), this.actor(req));
      return {};
    });

    // The bridge reads its devices' to-device inbox this way when a room key seems late. This homeserver pushes every
    // to-device message in a transaction at once and keeps no inbox, so there is never anything left to fetch.
    app.get(`${CS}/sync`, async (req) => {
      this.actor(req);
      return { next_batch: `s${Date.now()}`, to_device: { events: [] }, device_lists: { changed: [], left: [] } };
    });

    // MSC4190: devices for appservice users.
    app.put(`${CS}/devices/:deviceId`, async (req) => {
      this.actor(req);
      return {};
    });

    app.post("/_matrix/client/v1/appservice/:id/ping", async (req: P<{ id: string }>) => {
      if (req.params.id !== this.o.registration.id) throw new MatrixError(403, "M_FORBIDDEN", "not this appservice's ID");
      const started = Date.now();
      const res = await fetch(`${this.o.registration.url.replace(/\/+$/, "")}/_matrix/app/v1/ping`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.o.registration.hs_token}`, "content-type": "application/json" },
        body: JSON.stringify((req.body ?? {}) as Content),
      });
      if (!res.ok) throw new MatrixError(502, "M_BAD_STATUS", `the appservice answered the ping with ${res.status}`);
      return { duration_ms: Date.now() - started };
    });
  }
}
