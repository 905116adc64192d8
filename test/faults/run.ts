// The fault-injection run: a Matrix user (real E2EE client on the harness Synapse) and simulated WhatsApp users chat
// both ways through plain and encrypted portals, continuously, while the run SIGKILLs the bridge, kills and restarts
// the gatekeeper, SIGSTOPs the bridge past Synapse's transaction timeout and restarts Synapse. Then everything sent
// must arrive exactly once, in order per chat, at every receiving device; the ledger says what did not, and under
// which fault it was sent. Used by `npm run faults` (long) and test/faults/faults.test.ts (the short CI run).
import { withBridgeDatabase } from "../support/test-database.js";
import type { DiscardedEnvelope } from "../../src/gatekeeper/sim/discarded.js";
import { isLoss } from "../../src/gatekeeper/sim/discarded.js";
import { CuttingProxy, type Cut } from "./cutting-proxy.js";
import { SmallDisk } from "./small-disk.js";
import { prng } from "../support/prng.js";
import type { MatrixTestUser } from "../e2e/matrix-user.js";
import { startWorld, type World } from "../e2e/world.js";
import { Ledger, type LedgerSummary, type SentMessage } from "./ledger.js";

export type FaultKind = "bridge-sigkill" | "gatekeeper-kill" | "bridge-sigstop" | "synapse-restart" | "disk-full";

export interface FaultOptions {
  /** How long traffic runs while faults are injected. */
  seconds: number;
  seed: number;
  faults: Partial<Record<FaultKind, number>>;
  /** How long a SIGSTOP lasts; past Synapse's 60 s transaction timeout by default. */
  stopSeconds?: number;
  /** How long the bridge's database disk stays full (the disk-full fault needs root: a tmpfs is mounted for it). */
  diskFullSeconds?: number;
  /** Pause between two messages of one sender (one sender per chat and direction). */
  intervalMs?: number;
  /** How long to wait, after the traffic, for what is still on its way. */
  settleSeconds?: number;
  say?: (line: string) => void;
}

export interface FaultRecord {
  kind: FaultKind;
  at: number;
  ms: number;
  /** gatekeeper-kill: where the WebSocket was cut just before (undefined: no frame came by to cut). */
  cut?: Cut | undefined;
}

export interface FaultReport {
  summary: LedgerSummary;
  faults: FaultRecord[];
  /** Notices the bridge posted in the portals (m.notice from a puppet or the bot), by text. */
  notices: Record<string, number>;
  /** Messages in encrypted portals the Matrix client could not decrypt. */
  undecryptable: number;
  /** Puppet messages the homeserver has but the client's /sync never showed (counted as delivered). */
  unsynced: number;
  /** Envelopes the simulated phones threw away (undecryptable, reused counters) and redeliveries. */
  discarded: DiscardedEnvelope[];
  /** Disk-full faults: the bridge's log lines that said so, and whether it stayed up. */
  diskFull: { logLines: number; bridgeExited: number } | null;
  seconds: number;
}

interface Chat {
  name: string;
  phone: string;
  devices: number;
  encrypted: boolean;
  room: string;
}

const CHATS: Omit<Chat, "room">[] = [
  { name: "plain-a", phone: "+4915160000001", devices: 2, encrypted: false },
  { name: "plain-b", phone: "+4915160000002", devices: 1, encrypted: false },
  { name: "e2ee-a", phone: "+4915160000003", devices: 2, encrypted: true },
  { name: "e2ee-b", phone: "+4915160000004", devices: 1, encrypted: true },
];

/** How long after a fault's recovery the messages sent are still laid at its door. */
const AFTERMATH_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lets senders run or holds them, and waits until the sends in flight are done before a fault starts. */
class Gate {
  private paused = false;
  private inFlight = 0;
  private wakers: (() => void)[] = [];

  async enter(): Promise<void> {
    while (this.paused) await new Promise<void>((r) => this.wakers.push(r));
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
  }

  async pause(): Promise<void> {
    this.paused = true;
    while (this.inFlight > 0) await sleep(50);
  }

  resume(): void {
    this.paused = false;
    for (const w of this.wakers.splice(0)) w();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

type ReceivedJson = { message?: { conversation?: string; extendedTextMessage?: { text?: string } } };

export async function runFaults(o: FaultOptions): Promise<FaultReport> {
  const say = o.say ?? (() => {});
  const random = prng(o.seed);
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);
  const ledger = new Ledger(`f${o.seed}`);
  const started = Date.now();

  const disk = (o.faults["disk-full"] ?? 0) > 0 ? SmallDisk.mount(64) : undefined;
  // The bridge reaches the gatekeeper through a proxy that cuts the WebSocket inside a frame before each kill.
  const proxy = await CuttingProxy.start();
  say("starting Synapse (shared harness), the gatekeeper and the bridge");
  let w: World;
  try {
    w = await startWorld(
      "faults",
      CHATS.map((c) => ({ phone: c.phone, name: c.name, devices: c.devices })),
      {
        // Encrypted portals wait for late room keys (a SIGSTOP holds them back) well past the run's faults.
        bridge: { encryption: { default: false, allow: true, max_key_wait_seconds: 600 } },
        ...(disk ? { database: { type: "sqlite", path: disk.file("bridge.db") } } : {}),
      },
      undefined,
      true,
      {},
      proxy,
    );
  } catch (err) {
    disk?.unmount();
    await proxy.close();
    throw err;
  }
  const diskFull = disk ? { logLines: 0, bridgeExited: 0 } : null;
  const diskFullLines = w.bridge.watchLines(/disk is full|SQLITE_FULL|disk-full/i);
  const alice: MatrixTestUser = w.user;
  const faults: FaultRecord[] = [];
  try {
    const chats: Chat[] = [];
    for (const c of CHATS) {
      const puppet = w.puppet(c.phone);
      const room = c.encrypted ? await alice.createEncryptedDm(puppet) : await alice.createDm(puppet);
      if (c.encrypted) await alice.waitForMember(room, puppet, "join", 60_000);
      else await alice.waitFor(`${puppet} to join`, () => (alice.client.getRoom(room)?.getMember(puppet)?.membership === "join" ? true : undefined), 60_000);
      chats.push({ ...c, room });
    }
    const receivers = (m: SentMessage): string[] => {
      const chat = chats.find((c) => c.name === m.chat)!;
      return m.direction === "to-matrix" ? [`matrix ${chat.name}`] : Array.from({ length: chat.devices }, (_, i) => `${chat.phone}#${i + 1}`);
    };

    // ---- observers ------------------------------------------------------------------------------------------------
    const after = new Map<string, number>();
    // One poll at a time: the observer loop and the settle loop both poll, and two polls from the same `after` would
    // count each arrival twice (reported as duplicates the phones never got).
    let polling: Promise<void> | undefined;
    const pollWhatsApp = async (): Promise<void> => {
      while (polling) await polling;
      polling = pollOnce().finally(() => (polling = undefined));
      return polling;
    };
    const pollOnce = async () => {
      for (const c of chats) {
        // While the gatekeeper is down (or restarting: then even the call throws) the poll just misses a round.
        const got = await (async () => w.gk.received(c.phone, after.get(c.phone) ?? 0))().catch(() => []);
        for (const m of got) {
          after.set(c.phone, m.seq);
          const content = m.content as ReceivedJson;
          const text = content.message?.conversation ?? content.message?.extendedTextMessage?.text;
          if (text !== undefined && ledger.owns(text)) ledger.arrived(`${c.phone}#${m.deviceId}`, text, m.messageId);
        }
      }
    };
    const matrixArrivals = () => {
      for (const c of chats) {
        const copies = alice.messagesIn(c.room, w.puppet(c.phone)).map((e) => ({ text: String(e.content.body ?? ""), id: e.eventId })).filter((x) => ledger.owns(x.text));
        ledger.setArrivals(`matrix ${c.name}`, copies);
      }
    };
    let observing = true;
    const observer = (async () => {
      while (observing) {
        await pollWhatsApp();
        await sleep(500);
      }
    })();

    // ---- traffic --------------------------------------------------------------------------------------------------
    const matrixGate = new Gate();
    const whatsappGate = new Gate();
    let sending = true;
    const interval = o.intervalMs ?? 1000;
    const sender = async (chat: Chat, direction: "to-whatsapp" | "to-matrix") => {
      await sleep(random() * interval);
      while (sending) {
        const gate = direction === "to-whatsapp" ? matrixGate : whatsappGate;
        await gate.enter();
        try {
          if (!sending) break;
          const m = ledger.next(chat.name, direction);
          try {
            if (direction === "to-whatsapp") m.id = await withTimeout(alice.sendText(chat.room, m.text), 30_000, "a Matrix send");
            else m.id = await withTimeout(w.gk.sendAs(chat.phone, { to: w.userUri, text: m.text }), 30_000, "a simulated user's send");
          } catch (err) {
            ledger.markUncertain(m);
            say(`send of "${m.text}" failed (${(err as Error).message}); counted as uncertain`);
          }
        } finally {
          gate.leave();
        }
        await sleep(interval * between(0.5, 1.5));
      }
    };
    const senders = chats.flatMap((c) => [sender(c, "to-whatsapp"), sender(c, "to-matrix")]);

    // ---- faults ---------------------------------------------------------------------------------------------------
    const plan: FaultKind[] = [];
    for (const [kind, n] of Object.entries(o.faults) as [FaultKind, number][]) for (let i = 0; i < n; i++) plan.push(kind);
    for (let i = plan.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    const stopMs = (o.stopSeconds ?? 70) * 1000;
    const inject = async (kind: FaultKind): Promise<Partial<FaultRecord>> => {
      switch (kind) {
        case "bridge-sigkill":
          await w.bridge.kill();
          await sleep(between(100, 3000));
          await w.bridge.start(120_000);
          return {};
        case "gatekeeper-kill":
          // The simulated users' own sends pause (their phone app is down with it); the bridge's do not.
          await whatsappGate.pause();
          try {
            // The bridge's traffic goes on, so frames come by both ways (sends, results, pings) within a second.
            const cut = await proxy.cutMidFrame(random() < 0.5 ? "to-gatekeeper" : "to-bridge", 15_000);
            await w.gk.crash();
            await sleep(between(200, 4000));
            await w.gk.restart({ samePort: true });
            return { cut };
          } finally {
            whatsappGate.resume();
          }
        case "bridge-sigstop":
          w.bridge.freeze();
          await sleep(stopMs);
          w.bridge.thaw();
          return {};
        case "disk-full": {
          disk!.fill();
          await sleep((o.diskFullSeconds ?? 20) * 1000);
          disk!.free();
          // It must have said so, and stayed up (no crash loop); if it died, start it so the run can count.
          if (w.bridge.pid === undefined) {
            diskFull!.bridgeExited++;
            say("the bridge exited while its disk was full; starting it again");
            await w.bridge.start(120_000);
          }
          return {};
        }
        case "synapse-restart":
          // The Matrix user's client cannot send while its homeserver is down; the bridge keeps working.
          await matrixGate.pause();
          try {
            await w.env.synapse.restart({ kill: random() < 0.5 });
          } finally {
            matrixGate.resume();
          }
          return {};
      }
    };
    const trafficEnd = started + o.seconds * 1000;
    const fixedCost = plan.filter((k) => k === "bridge-sigstop").length * stopMs;
    const gap = Math.max(1000, (o.seconds * 1000 - fixedCost) / (plan.length + 1));
    for (const [i, kind] of plan.entries()) {
      await sleep(gap * between(0.6, 1.4));
      const at = Date.now();
      ledger.current = kind;
      say(`fault ${i + 1}/${plan.length}: ${kind}`);
      const detail = await inject(kind);
      faults.push({ kind, at: at - started, ms: Date.now() - at, ...detail });
      // What is sent right after the recovery meets the backlog and the reconnects: still this fault's doing.
      await sleep(Math.min(AFTERMATH_MS, gap / 2));
      ledger.current = "none";
    }
    while (Date.now() < trafficEnd) await sleep(250);

    // ---- settle ---------------------------------------------------------------------------------------------------
    sending = false;
    matrixGate.resume();
    whatsappGate.resume();
    await Promise.all(senders);
    say(`traffic stopped; waiting up to ${o.settleSeconds ?? 240} s for what is on its way`);
    const deadline = Date.now() + (o.settleSeconds ?? 240) * 1000;
    // What the bridge posted is what the homeserver has: the client's /sync has been seen to skip events that
    // arrived around a Synapse restart (they are in the room, and in its /messages). So once the client's view stops
    // filling up, the rooms are read from the homeserver (and decrypted by the client) instead.
    let fromServer = false;
    const serverArrivals = async () => {
      for (const c of chats) ledger.setArrivals(`matrix ${c.name}`, (await serverMessages(alice, c.room, w.puppet(c.phone))).filter((x) => ledger.owns(x.text)));
    };
    let missing: SentMessage[] = [];
    for (let round = 0; ; round++) {
      await pollWhatsApp();
      if (fromServer) await serverArrivals();
      else matrixArrivals();
      missing = ledger.missing(receivers);
      if (missing.length === 0 || Date.now() > deadline) break;
      if (round === 20 && missing.some((m) => m.direction === "to-matrix")) fromServer = true;
      await sleep(fromServer ? 5000 : 1000);
    }
    // A duplicate would come right behind.
    await sleep(3000);
    // The final count always comes from the homeserver; what the client's /sync never showed is reported apart.
    let unsynced = 0;
    for (const c of chats) {
      const seen = new Set(alice.messagesIn(c.room, w.puppet(c.phone)).map((e) => e.eventId));
      const onServer = await serverMessages(alice, c.room, w.puppet(c.phone));
      unsynced += onServer.filter((x) => !seen.has(x.id)).length;
      ledger.setArrivals(`matrix ${c.name}`, onServer.filter((x) => ledger.owns(x.text)));
    }
    if (unsynced > 0) say(`${unsynced} puppet messages are on the homeserver but never came down the client's /sync`);
    observing = false;
    await observer;
    await pollWhatsApp();

    const notices: Record<string, number> = {};
    let undecryptable = 0;
    for (const c of chats) {
      for (const e of alice.events.filter((x) => x.roomId === c.room)) {
        if (e.decryptionFailure && e.sender === w.puppet(c.phone)) undecryptable++;
        if (e.type === "m.room.message" && e.content.msgtype === "m.notice" && (e.sender === w.puppet(c.phone) || e.sender === w.bot)) {
          const body = String(e.content.body ?? "").replace(/\d+/g, "N").slice(0, 120);
          notices[body] = (notices[body] ?? 0) + 1;
        }
      }
    }
    for (const m of ledger.lostMessages(receivers)) say(`lost: ${await describeLoss(w, m, started)}`);
    const discarded = await w.gk.discarded();
    const summary = ledger.summary(receivers);
    for (const c of summary.chats) for (const t of c.duplicated) say(`duplicate at ${c.at}: ${t} as ${ledger.copiesOf(c.at, t).map((x) => x.id).join(", ")}`);
    if (diskFull) diskFull.logLines = diskFullLines.count;
    return { summary, faults, notices, undecryptable, unsynced, discarded, diskFull, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    say(`the run failed: ${(err as Error).message}\n--- bridge log tail ---\n${w.bridge.logs.slice(-6000)}`);
    throw err;
  } finally {
    await w.stop().catch((err: unknown) => say(`stopping the world: ${(err as Error).message}`));
    await proxy.close();
    disk?.unmount();
  }
}

/** Where a lost message got to: for Matrix → WhatsApp, what the bridge's database knows of its event. */
async function describeLoss(w: World, m: SentMessage, started: number): Promise<string> {
  const at = `"${m.text}" (${m.id ?? "no id"}), sent at +${((m.sentAt - started) / 1000).toFixed(1)} s during ${m.during}`;
  if (m.direction !== "to-whatsapp" || !m.id) return at;
  const id = m.id;
  try {
    return await withBridgeDatabase(w.config, async (db) => {
      const one = async (sql: string, ...args: string[]) => JSON.stringify((await db.get(sql, args)) ?? null);
      return `${at}: taken in by the intake ${await one("SELECT received_at FROM appservice_seen WHERE item_key = ?", `event:${id}`)}, mapped ${await one("SELECT message_id, timestamp FROM message_map WHERE event_id = ?", id)}, in the outbox ${await one("SELECT seq, attempts, last_error FROM outbox WHERE event_id = ?", id)}`;
    });
  } catch (err) {
    return `${at} (the bridge's database could not be read: ${(err as Error).message})`;
  }
}

/** The message events `sender` has in the room according to the homeserver, oldest first, decrypted by the client. */
async function serverMessages(user: MatrixTestUser, roomId: string, sender: string): Promise<{ text: string; id: string }[]> {
  const mapper = user.client.getEventMapper();
  const out: { text: string; id: string }[] = [];
  let from: string | null = null;
  for (let page = 0; page < 200; page++) {
    const res = await user.client.createMessagesRequest(roomId, from, 500, "b" as never);
    for (const raw of res.chunk) {
      if (raw.sender !== sender || (raw.type !== "m.room.message" && raw.type !== "m.room.encrypted")) continue;
      const ev = mapper(raw);
      await user.client.decryptEventIfNeeded(ev);
      out.push({ text: String(ev.getContent().body ?? ""), id: ev.getId()! });
    }
    if (!res.end || res.chunk.length === 0) break;
    from = res.end;
  }
  return out.reverse();
}

/** Whether the run kept every promise: nothing lost, duplicated, out of order, undecryptable or thrown away. */
export function problemsOf(r: FaultReport): string[] {
  const s = r.summary;
  const problems: string[] = [];
  if (s.lost > 0) problems.push(`${s.lost} lost: ${s.chats.flatMap((c) => c.lost.map((t) => `${t} @${c.at}`)).slice(0, 10).join(", ")}`);
  if (s.duplicated > 0) problems.push(`${s.duplicated} duplicated: ${s.chats.flatMap((c) => c.duplicated.map((t) => `${t} @${c.at}`)).slice(0, 10).join(", ")}`);
  if (s.outOfOrder > 0) problems.push(`${s.outOfOrder} out of order: ${s.chats.flatMap((c) => c.outOfOrder.map((t) => `${t} @${c.at}`)).slice(0, 10).join(", ")}`);
  if (r.undecryptable > 0) problems.push(`${r.undecryptable} messages the Matrix client could not decrypt`);
  if (r.diskFull && r.diskFull.bridgeExited > 0) problems.push(`the bridge exited ${r.diskFull.bridgeExited} time(s) while its disk was full`);
  if (r.diskFull && r.faults.some((f) => f.kind === "disk-full") && r.diskFull.logLines === 0) problems.push("the bridge never logged that its disk was full");
  const uncut = r.faults.filter((f) => f.kind === "gatekeeper-kill" && !f.cut).length;
  if (uncut > 0) problems.push(`${uncut} gatekeeper kill(s) without a WebSocket cut mid-frame (no frame came by)`);
  const lostOnPhones = r.discarded.filter(isLoss);
  if (lostOnPhones.length > 0) problems.push(`${lostOnPhones.length} envelopes thrown away by the simulated phones: ${lostOnPhones.slice(0, 5).map((d) => `${d.reason} (${d.detail})`).join("; ")}`);
  return problems;
}

const OPCODES: Record<number, string> = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

export function formatReport(r: FaultReport): string {
  const s = r.summary;
  const lines: string[] = [];
  lines.push(`fault run: ${r.seconds.toFixed(0)} s, ${s.sent} messages sent (${s.uncertain} with a failed send call), ${s.delivered} deliveries checked`);
  lines.push(`  lost ${s.lost}, duplicated ${s.duplicated}, out of order ${s.outOfOrder}, undecryptable ${r.undecryptable}, on the homeserver but not in the client's /sync ${r.unsynced}, thrown away on phones ${r.discarded.filter(isLoss).length}, redelivered on phones ${r.discarded.length - r.discarded.filter(isLoss).length}`);
  lines.push(`  per fault (messages sent during it and the ${AFTERMATH_MS / 1000} s after):`);
  lines.push("                         injected   total s          sent   lost   duplicated");
  const kinds = new Set<string>([...r.faults.map((f) => f.kind), ...Object.keys(s.byFault)]);
  for (const kind of kinds) {
    const injected = r.faults.filter((f) => f.kind === kind);
    const b = s.byFault[kind] ?? { sent: 0, lost: 0, duplicated: 0 };
    lines.push(
      `    ${kind.padEnd(20)} ${String(kind === "none" ? "-" : injected.length).padStart(8)} ${(injected.reduce((n, f) => n + f.ms, 0) / 1000).toFixed(0).padStart(9)} ${String(b.sent).padStart(13)} ${String(b.lost).padStart(6)} ${String(b.duplicated).padStart(12)}`,
    );
  }
  const cuts = r.faults.filter((f) => f.kind === "gatekeeper-kill");
  if (cuts.length > 0) {
    const n = (d: string) => cuts.filter((f) => f.cut?.direction === d).length;
    const opcodes = new Map<string, number>();
    for (const f of cuts) if (f.cut) opcodes.set(OPCODES[f.cut.opcode] ?? `opcode ${f.cut.opcode}`, (opcodes.get(OPCODES[f.cut.opcode] ?? `opcode ${f.cut.opcode}`) ?? 0) + 1);
    lines.push(`  gatekeeper kills with the WebSocket cut mid-frame just before: ${cuts.filter((f) => f.cut).length} of ${cuts.length} (frames going to the bridge ${n("to-bridge")}, to the gatekeeper ${n("to-gatekeeper")}; ${[...opcodes].map(([k, v]) => `${v} ${k}`).join(", ")}; bytes through: ${cuts.map((f) => (f.cut ? `${f.cut.forwarded}/${f.cut.frameLength}` : "-")).join(" ")})`);
  }
  lines.push("  per chat and receiver:");
  for (const c of s.chats) {
    lines.push(`    ${c.chat.padEnd(8)} ${c.direction.padEnd(12)} ${c.at.padEnd(26)} sent ${c.sent}, delivered ${c.delivered}, lost ${c.lost.length}, duplicated ${c.duplicated.length}, out of order ${c.outOfOrder.length}${c.uncertain.sent > 0 ? `, uncertain ${c.uncertain.delivered}/${c.uncertain.sent} arrived` : ""}`);
  }
  if (r.diskFull) lines.push(`  disk full: ${r.diskFull.logLines} log lines said so, the bridge exited ${r.diskFull.bridgeExited} time(s)`);
  const notices = Object.entries(r.notices);
  lines.push(`  notices in the portals: ${notices.length === 0 ? "none" : ""}`);
  for (const [text, n] of notices) lines.push(`    ${n} x ${JSON.stringify(text)}`);
  return lines.join("\n");
}
