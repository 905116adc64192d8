// Fakes of the core's own ports, for unit tests of BridgeCore without a homeserver or a gatekeeper. The store is
// the real SQLite store in a temporary file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { CoreContext } from "../../src/core/context.js";
import type { MatrixEvent, MessageRef, OutgoingEvent, RemoteEvent, RemoteMedia } from "../../src/core/events.js";
import { InputError, type IdentityNews, type RemoteSafety, type ReportReasonName, type SafetyNumber, type VerifyResult, type ContactIds, type ContentCodec, type MatrixContent, type MatrixSide, type MatrixText, type MediaPort, type NetworkPhrases, type RemoteAvatar, type RemoteNetwork, type RemoteProfile, type RemoteStatus, type TextDialect, type OperationsPort, type StateEvent } from "../../src/core/ports.js";
import { BridgeCore } from "../../src/core/bridge.js";
import { parseConfig } from "../../src/config/load.js";
import type { InboxEntry } from "../../src/store/inbox.js";
import { BridgeStore } from "../../src/store/store.js";
import { minimalConfig } from "../config/fixtures.js";
import { testDatabaseEngine, testDatabaseUrl } from "../support/test-database.js";

export interface MatrixCall {
  method: keyof MatrixSide;
  args: unknown[];
}

export interface SentEvent {
  asUser: string;
  roomId: string;
  type: string;
  content: MatrixContent;
  txnId: string;
}

/** Records every call; rooms and event IDs are made up in sequence. */
export class RecordingMatrixSide implements MatrixSide {
  readonly botUserId = "@whatsappbot:example.org";
  readonly domain = "example.org";
  readonly calls: MatrixCall[] = [];
  /** Who is joined where, as the calls left it (createPortalRoom joins the puppet; the invitee is only invited). */
  readonly members = new Map<string, Set<string>>();
  private next = 0;

  private record(method: keyof MatrixSide, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  called(method: keyof MatrixSide): MatrixCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** The bodies of every m.notice sent, with who sent it where. */
  notices(): { asUser: string; roomId: string; body: string }[] {
    return this.called("sendEvent")
      .filter((c) => (c.args[3] as MatrixContent).msgtype === "m.notice")
      .map((c) => ({ asUser: c.args[0] as string, roomId: c.args[1] as string, body: String((c.args[3] as MatrixContent).body) }));
  }

  async ensurePuppet(e164: string, profile: { name?: string | undefined; avatar?: RemoteAvatar | undefined }): Promise<string> {
    this.record("ensurePuppet", e164, profile);
    return `@wa_${e164.slice(1)}:example.org`;
  }
  async setState(asUser: string, roomId: string, state: StateEvent): Promise<void> {
    this.record("setState", asUser, roomId, state);
    const children = this.spaces.get(roomId);
    if (state.type !== "m.space.child" || !children) return;
    if (Array.isArray(state.content.via)) children.add(state.stateKey);
    else children.delete(state.stateKey);
  }
  async createPortalRoom(opts: { puppetUserId: string; inviteUserId: string; name: string; encrypted: boolean; initialState?: readonly StateEvent[] }): Promise<string> {
    this.record("createPortalRoom", opts);
    const roomId = `!room${++this.next}:example.org`;
    this.members.set(roomId, new Set([opts.puppetUserId]));
    return roomId;
  }
  /** Children of each space, as the calls left them. */
  readonly spaces = new Map<string, Set<string>>();
  async createSpace(opts: { inviteUserId: string; name: string; topic: string }): Promise<string> {
    this.record("createSpace", opts);
    const roomId = `!space${this.spaces.size + 1}:example.org`;
    this.spaces.set(roomId, new Set());
    return roomId;
  }
  /** Rooms joined as encrypted (the hint that makes the real side set up the user's crypto device first). */
  readonly encryptedJoins: string[] = [];
  async joinRoom(asUser: string, roomId: string, opts: { encrypted?: boolean } = {}): Promise<void> {
    this.record("joinRoom", asUser, roomId);
    if (opts.encrypted) this.encryptedJoins.push(roomId);
    this.membersOf(roomId).add(asUser);
  }
  async leaveRoom(asUser: string, roomId: string, reason?: string): Promise<void> {
    this.record("leaveRoom", asUser, roomId, reason);
    this.membersOf(roomId).delete(asUser);
  }
  async invite(asUser: string, roomId: string, userId: string): Promise<void> {
    this.record("invite", asUser, roomId, userId);
  }
  async sendEvent(asUser: string, roomId: string, type: string, content: MatrixContent, txnId: string): Promise<string> {
    this.record("sendEvent", asUser, roomId, type, content, txnId);
    return `$event${++this.next}`;
  }
  /** Room state as set through sendState, keyed "room|type|stateKey". */
  readonly state = new Map<string, MatrixContent>();
  async roomState(asUser: string, roomId: string, type: string, stateKey = ""): Promise<MatrixContent | null> {
    this.record("roomState", asUser, roomId, type, stateKey);
    return this.state.get(`${roomId}|${type}|${stateKey}`) ?? null;
  }
  async sendState(asUser: string, roomId: string, type: string, stateKey: string, content: MatrixContent): Promise<string> {
    this.record("sendState", asUser, roomId, type, stateKey, content);
    this.state.set(`${roomId}|${type}|${stateKey}`, content);
    return `$state${++this.next}`;
  }
  async redact(asUser: string, roomId: string, eventId: string, txnId: string, reason?: string): Promise<void> {
    this.record("redact", asUser, roomId, eventId, txnId, reason);
  }
  async sendReadReceipt(asUser: string, roomId: string, eventId: string): Promise<void> {
    this.record("sendReadReceipt", asUser, roomId, eventId);
  }
  async setTyping(asUser: string, roomId: string, typing: boolean, timeoutMs: number): Promise<void> {
    this.record("setTyping", asUser, roomId, typing, timeoutMs);
  }
  async joinedMembers(roomId: string): Promise<string[]> {
    this.record("joinedMembers", roomId);
    return [...this.membersOf(roomId)];
  }

  /** What each room held before a bridge user joined it, for eventsBeforeJoin. */
  readonly history = new Map<string, MatrixEvent[]>();

  async eventsBeforeJoin(asUser: string, roomId: string): Promise<MatrixEvent[]> {
    this.record("eventsBeforeJoin", asUser, roomId);
    return this.history.get(roomId) ?? [];
  }

  private membersOf(roomId: string): Set<string> {
    let set = this.members.get(roomId);
    if (!set) this.members.set(roomId, (set = new Set()));
    return set;
  }

  /** Every sendEvent, spelled out; `type` keeps only events of that type. */
  events(type?: string): SentEvent[] {
    return this.called("sendEvent")
      .map((c) => ({ asUser: c.args[0] as string, roomId: c.args[1] as string, type: c.args[2] as string, content: c.args[3] as MatrixContent, txnId: c.args[4] as string }))
      .filter((e) => type === undefined || e.type === type);
  }

  /** The m.room.message events that are not notices: what a contact's messages became. */
  messages(): SentEvent[] {
    return this.events("m.room.message").filter((e) => e.content.msgtype !== "m.notice");
  }
}

/**
 * A network that is not WhatsApp, to keep the core honest: contacts are `fake:<digits>`, text is plain (quotes in
 * «»), and content travels as JSON of the core's own events.
 */
export const fakeIds: ContactIds = {
  parse(input) {
    const digits = input.replace(/[^0-9]/g, "");
    if (digits.length < 4) throw new InputError(`"${input}" is no fake number`);
    return `fake:${digits}`;
  },
  fromPuppetKey: (key) => (/^\+?\d{4,15}$/.test(key) ? `fake:${key.replace("+", "")}` : null),
  puppetKey: (contact) => `+${contact.slice("fake:".length)}`,
  label: (contact) => `~${contact.slice("fake:".length)}`,
  isContact: (id) => id.startsWith("fake:"),
  localUser: (matrixUserId) => `local:${matrixUserId}`,
};

export const fakeCodec: ContentCodec = {
  decode(bytes) {
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as RemoteEvent;
    } catch {
      return { kind: "unsupported", what: "fake garbage" };
    }
  },
  encode(event, chat) {
    if (event.kind === "message" && event.text.length > 1000) return { ok: false, reason: "too long for the fake network" };
    // The chat's disappearing timer travels with the event, so tests see what the codec was given.
    const sent = chat.disappearingSeconds ? { ...event, disappearingSeconds: chat.disappearingSeconds } : event;
    return { ok: true, bytes: new TextEncoder().encode(JSON.stringify(sent)) };
  },
  newPollSecret: () => new Uint8Array(32).fill(7),
  // The fake network's votes are not sealed: `value` names the chosen options, or is "garbage" (does not open).
  openVote(vote, poll) {
    const v = vote.value as { options?: unknown } | string;
    if (typeof v !== "object" || !Array.isArray(v.options)) return { ok: false, reason: "the fake vote does not open" };
    const names = v.options as string[];
    const selected = names.map((n) => poll.options.indexOf(n)).filter((i) => i >= 0);
    return { ok: true, selected, unknown: names.length - selected.length };
  },
};

/** Bytes as the fake network's inbox would hold them. */
export function fakeContent(event: RemoteEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

/** The outbox's content, decoded as the fake network sent it. */
export async function sentEvents(store: BridgeStore): Promise<OutgoingEvent[]> {
  const rows = await store.db.all<{ content: Buffer }>("SELECT content FROM outbox ORDER BY seq");
  return rows.map((r) => JSON.parse(new TextDecoder().decode(r.content)) as OutgoingEvent);
}

/** A remote network whose directory is a map; records lookups and identity set-ups. */
/** RemoteSafety with scripted answers; records what the core asked of it. */
export class ScriptedSafety implements RemoteSafety {
  numbers: SafetyNumber[] = [{ device: 1, digits: "123451234512345123451234512345123451234512345123451234512345", qr: "UVI=" }];
  /** Identity news not told yet, per contact; told news are removed (as the real network records them). */
  readonly news = new Map<string, IdentityNews[]>();
  readonly told: IdentityNews[] = [];
  readonly verified: { contact: string; code?: string }[] = [];
  verifyResult: VerifyResult = { ok: true, devices: [1] };
  reverify = false;
  readonly blocks = new Set<string>();
  readonly reports: { contact: string; messageIds: readonly string[]; reason: ReportReasonName }[] = [];

  async safetyNumbers(): Promise<SafetyNumber[]> {
    return this.numbers;
  }
  async verify(_user: string, contact: string, code?: string): Promise<VerifyResult> {
    this.verified.push(code === undefined ? { contact } : { contact, code });
    if (this.verifyResult.ok) this.reverify = false;
    return this.verifyResult;
  }
  async identityNews(_user: string, contact: string): Promise<IdentityNews[]> {
    return this.news.get(contact) ?? [];
  }
  async identityNewsTold(_user: string, contact: string, news: readonly IdentityNews[]): Promise<void> {
    this.told.push(...news);
    this.news.set(contact, (this.news.get(contact) ?? []).filter((n) => !news.some((t) => t.ref === n.ref)));
  }
  async mustReverify(): Promise<boolean> {
    return this.reverify;
  }
  async block(_user: string, contact: string): Promise<void> {
    this.blocks.add(contact);
  }
  async unblock(_user: string, contact: string): Promise<void> {
    this.blocks.delete(contact);
  }
  async blocked(): Promise<string[]> {
    return [...this.blocks].sort();
  }
  async isBlocked(_user: string, contact: string): Promise<boolean> {
    return this.blocks.has(contact);
  }
  async report(_user: string, contact: string, messageIds: readonly string[], reason: ReportReasonName): Promise<string> {
    this.reports.push({ contact, messageIds, reason });
    return `r-${this.reports.length}`;
  }
}

export class ScriptedRemoteNetwork implements RemoteNetwork {
  /** Set by coreWorld({ safety: true }); absent, the network offers no safety features. */
  safety?: ScriptedSafety;
  readonly networkName = "FakeNet";
  readonly ids = fakeIds;
  readonly codec = fakeCodec;
  /** What the core handed the dialect to convert, so tests see that formatting reaches the network's side. */
  readonly fromMatrixInputs: MatrixText[] = [];
  readonly text: TextDialect = {
    toMatrix: (text) => ({ body: text }),
    fromMatrix: (content) => (this.fromMatrixInputs.push(content), content.body),
    withQuote: (quoted, text) => `«${quoted}» ${text}`,
    mentionText: (user) => (user.startsWith("fake:") ? `@${user.slice("fake:".length)}` : undefined),
  };
  readonly phrases: NetworkPhrases = { notOptedIn: (who) => `${who} has not opted in on FakeNet.`, commandPrefix: "!fake", contactNoun: "fake number", contactExample: "1234", contactSpellings: "digits" };
  readonly lookups: string[] = [];
  readonly identities: string[] = [];
  /** Contacts whose lookup fails with this error. */
  readonly failing = new Map<string, Error>();
  /** When set, ensureIdentity fails with it. */
  identityFailure: Error | undefined;
  connected = true;
  wakes = 0;

  constructor(private readonly directory: Record<string, string> = {}) {}

  async lookup(_asMatrixUser: string, contact: string): Promise<RemoteProfile> {
    this.lookups.push(contact);
    const failure = this.failing.get(contact);
    if (failure) throw failure;
    return { contact, name: this.directory[contact], devices: [1] };
  }
  async ensureIdentity(matrixUser: string): Promise<void> {
    this.identities.push(matrixUser);
    if (this.identityFailure) throw this.identityFailure;
  }
  wake(): void {
    this.wakes++;
  }
  async status(): Promise<RemoteStatus> {
    return { connected: this.connected, since: 0, lastError: undefined, pendingOutgoing: 0 };
  }
}

/** Media as the fake network carries it: the Matrix content it came from, or what a contact sent. */
export function fakeMedia(value: unknown): RemoteMedia {
  return { network: "fake", value };
}

/**
 * A media port that moves nothing: it records each call, turns Matrix content into fake media and fake media into an
 * m.image, and throws `failure` (a MediaError, say) when it is set.
 */
export class FakeMediaPort implements MediaPort {
  readonly toRemoteCalls: { matrixUser: string; content: MatrixContent; quote: MessageRef | undefined }[] = [];
  readonly toMatrixCalls: { puppetUserId: string; media: RemoteMedia; encrypted: boolean }[] = [];
  failure: Error | undefined;
  /** When set, stickerToRemote sends stickers as images for this reason. */
  stickerAsImage: string | undefined;

  async stickerToRemote(matrixUser: string, content: MatrixContent, quote?: MessageRef): Promise<{ media: RemoteMedia; asImage?: string }> {
    const media = await this.toRemote(matrixUser, content, quote);
    return this.stickerAsImage === undefined ? { media } : { media, asImage: this.stickerAsImage };
  }
  async toRemote(matrixUser: string, content: MatrixContent, quote?: MessageRef): Promise<RemoteMedia> {
    this.toRemoteCalls.push({ matrixUser, content, quote });
    if (this.failure) throw this.failure;
    return fakeMedia({ from: content.url, quote: quote?.messageId });
  }
  async toMatrix(puppetUserId: string, media: RemoteMedia, encrypted: boolean): Promise<MatrixContent> {
    this.toMatrixCalls.push({ puppetUserId, media, encrypted });
    if (this.failure) throw this.failure;
    return { msgtype: "m.image", body: "photo.jpg", url: "mxc://example.org/fake" };
  }
  handles(msgtype: string): boolean {
    return ["m.image", "m.video", "m.audio", "m.file"].includes(msgtype);
  }
}

export interface CoreWorld {
  core: BridgeCore;
  /** A context over the same ports and store, for calling handlers (e.g. runCommand with test commands) directly. */
  ctx: CoreContext;
  /** What the core logged, parsed. */
  logs: LogLine[];
  store: BridgeStore;
  matrix: RecordingMatrixSide;
  remote: ScriptedRemoteNetwork;
  close(): Promise<void>;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface CoreWorldOptions {
  /** bridge.permissions' rules. */
  permissions?: Record<string, string>;
  /** Other settings of the bridge section, e.g. { message_status_events: true } (values as JSON, which YAML reads). */
  bridge?: Record<string, unknown>;
  directory?: Record<string, string>;
  media?: MediaPort;
  /** Give the fake network RemoteSafety (security codes, blocks, reports). */
  safety?: boolean;
  ops?: OperationsPort;
}

/** A BridgeCore over the fakes, with the default config but for `permissions` and `bridge`. */
export async function coreWorld(options: CoreWorldOptions = {}): Promise<CoreWorld> {
  const dir = mkdtempSync(join(tmpdir(), "mdb-core-"));
  const rules = options.permissions ?? { "example.org": "user" };
  const settings = Object.entries(options.bridge ?? {}).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`).join("");
  const text = minimalConfig(dir)
    .replace('    "example.org": user\n', Object.entries(rules).map(([k, v]) => `    "${k}": ${v}\n`).join(""))
    .replace("bridge:\n", `bridge:\n${settings}`);
  const config = parseConfig(text, join(dir, "config.yaml"), { baseDir: dir });
  const store = await BridgeStore.open(testDatabaseEngine() === "postgres" ? await testDatabaseUrl() : join(dir, "bridge.db"));
  const matrix = new RecordingMatrixSide();
  const remote = new ScriptedRemoteNetwork(options.directory);
  if (options.safety) remote.safety = new ScriptedSafety();
  const logs: LogLine[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const deps = { config, store, matrix, remote, log, media: options.media, ops: options.ops };
  const core = new BridgeCore(deps);
  return {
    core,
    ctx: new CoreContext(deps),
    logs,
    store,
    matrix,
    remote,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** People and rooms the tests share: Alice uses the bridge, Anna is her contact on the fake network. */
/** Alice's portal with Anna in `roomId`, both of them members: what a test of one chat starts from. */
export async function openAnnaPortal(w: CoreWorld, roomId: string): Promise<void> {
  await w.store.users.ensure(ALICE, `local:${ALICE}`);
  await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA, roomId, encrypted: false });
  w.matrix.members.set(roomId, new Set([ANNA_PUPPET, ALICE]));
}

export const ALICE = "@alice:example.org";
export const ANNA = "fake:4915112345678";
export const ANNA_PUPPET = "@wa_4915112345678:example.org";
export const BOT = "@whatsappbot:example.org";

let entrySeq = 0;

/** A message ID as the network would mint one (32 hex digits), unique per call. */
export function newRemoteId(): string {
  return (++entrySeq).toString(16).toUpperCase().padStart(32, "0");
}

/** An inbox entry for Alice from Anna carrying `event`; later entries have later timestamps. */
export function inboxEntry(event: RemoteEvent, overrides: Partial<InboxEntry> = {}): InboxEntry {
  return {
    seq: ++entrySeq,
    matrixUser: ALICE,
    remoteUri: ANNA,
    senderDevice: 1,
    messageId: newRemoteId(),
    timestamp: 1_700_000_000_000 + entrySeq * 1000,
    content: fakeContent(event),
    identityChanged: false,
    attempts: 0,
    notBefore: 0,
    ...overrides,
  };
}
