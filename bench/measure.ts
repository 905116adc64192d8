// The measurement both scenarios share: open the portals, warm every chat up in both directions, then send N
// messages each way with a bounded number in flight, and account for every one of them.
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { matrixUri } from "../src/protocol/uri.js";
import type { BridgeProcess } from "../test/e2e/bridge-process.js";
import { ArrivalTracker } from "./arrivals.js";
import { BenchFailure } from "./failure.js";
import { runClosedLoop } from "./load.js";
import type { BenchMatrixUser } from "./matrix-side.js";
import { cpuTimeMs, peakRssBytes, resetPeakRss } from "./process-meter.js";
import { findDescendants } from "./process-tree.js";
import { summarize, type LatencySummary } from "./stats.js";
import type { BenchContact, WhatsAppSide } from "./whatsapp-side.js";

export type Direction = "matrix-to-whatsapp" | "whatsapp-to-matrix";

export const DIRECTION_LABELS: Record<Direction, string> = {
  "matrix-to-whatsapp": "Matrix → WhatsApp",
  "whatsapp-to-matrix": "WhatsApp → Matrix",
};

export interface DirectionResult {
  direction: Direction;
  messages: number;
  /** First send to last arrival. */
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary;
  /** Bridge user+system CPU from the first send until the run had settled, divided by the messages. */
  bridgeCpuMsPerMessage: number;
  bridgePeakRssMiB: number;
  /** False when the kernel would not reset the peak: it then covers the bridge's whole life so far. */
  peakIsPerDirection: boolean;
  /** Where the rest of the machine's CPU went, per message: the gatekeeper, the homeserver, the benchmark itself. */
  otherCpuMsPerMessage: Record<string, number>;
}

/** A process besides the bridge whose CPU time is reported, for reading the bridge's share of the machine. */
export interface OtherProcess {
  name: string;
  cpuTimeMs(): number;
}

export interface MeasureOptions {
  scenario: string;
  n: number;
  concurrency: number;
  timeoutMs: number;
  encrypted: boolean;
}

export interface BenchParts {
  bridge: BridgeProcess;
  matrix: BenchMatrixUser;
  whatsapp: WhatsAppSide;
  puppetUserId(phone: string): string;
  /** Processes whose CPU time is reported next to the bridge's. */
  others: OtherProcess[];
  /** Problems the scenario's own machinery saw (e.g. requests the fake homeserver could not answer). */
  problems?(): string[];
  /** Progress lines for the operator. */
  progress(line: string): void;
}

/** After the last arrival: time for a redelivered duplicate to show up, and for trailing work (receipts, echoes). */
const SETTLE_MS = 1500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The portals a run sends through: each chat's room, and the chat of each room. */
export interface OpenedPortals {
  roomOf: Map<string, string>;
  contactOfRoom: Map<string, BenchContact>;
}

export interface OpenOptions {
  encrypted: boolean;
  /** Invitations outstanding at once: a person opening thousands of chats does not open them all in one instant. */
  concurrency: number;
  /** How long one portal may take to open (its puppet to join). */
  timeoutMs: number;
}

/** The Matrix user invites each contact's puppet into a new room; resolves once every puppet has joined. */
export async function openPortals(parts: Pick<BenchParts, "matrix" | "puppetUserId" | "progress">, contacts: readonly BenchContact[], o: OpenOptions): Promise<OpenedPortals> {
  const opened: OpenedPortals = { roomOf: new Map(), contactOfRoom: new Map() };
  let next = 0;
  const step = Math.max(1, Math.ceil(contacts.length / 10));
  const opener = async () => {
    while (next < contacts.length) {
      const c = contacts[next++]!;
      const roomId = await parts.matrix.openPortal(parts.puppetUserId(c.phone), { encrypted: o.encrypted, timeoutMs: o.timeoutMs });
      opened.roomOf.set(c.phone, roomId);
      opened.contactOfRoom.set(roomId, c);
      if (contacts.length >= 100 && opened.roomOf.size % step === 0) parts.progress(`${opened.roomOf.size} of ${contacts.length} portals open`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, contacts.length) }, opener));
  return opened;
}

/**
 * Sends through the watched contacts' chats (opening their portals first unless `portals` has them already, e.g. a
 * scale run that opened many more portals than it sends through).
 */
export async function measureBothDirections(parts: BenchParts, o: MeasureOptions, portals?: OpenedPortals): Promise<DirectionResult[]> {
  const { matrix, whatsapp } = parts;
  const contacts = whatsapp.watched;
  const userUri = matrixUri(matrix.userId);
  const runId = randomBytes(3).toString("hex");

  // One observer per side feeds whichever trackers are active; arrivals from the wrong chat or sender do not count.
  const active = new Set<ArrivalTracker>();
  const roomOf = portals?.roomOf ?? new Map<string, string>();
  const contactOfRoom = portals?.contactOfRoom ?? new Map<string, BenchContact>();
  const offWa = whatsapp.onArrival((_contact, sender, text, at) => {
    if (sender !== userUri) return;
    for (const t of active) t.arrived(text, at);
  });
  // A puppet message in the clear in an encrypted portal would make the encrypted numbers a lie.
  const cleartext: string[] = [];
  const offMx = matrix.onMessage((roomId, sender, text, at, encrypted) => {
    const contact = contactOfRoom.get(roomId);
    if (!contact || sender !== parts.puppetUserId(contact.phone)) return;
    if (o.encrypted && !encrypted) cleartext.push(`${sender} posted ${JSON.stringify(text)} unencrypted into the encrypted portal ${roomId}`);
    for (const t of active) t.arrived(text, at);
  });

  const chatOf = (i: number) => contacts[i % contacts.length]!;
  const senders: Record<Direction, (i: number, text: string) => Promise<void>> = {
    "matrix-to-whatsapp": (i, text) => matrix.send(roomOf.get(chatOf(i).phone)!, text),
    "whatsapp-to-matrix": (i, text) => whatsapp.send(chatOf(i), userUri, text),
  };

  const run = async (prefix: string, direction: Direction, n: number, concurrency: number) => {
    const tracker = new ArrivalTracker(prefix);
    active.add(tracker);
    try {
      const load = await runClosedLoop({ n, concurrency, timeoutMs: o.timeoutMs, tracker, send: senders[direction], stopReason: () => (parts.bridge.pid === undefined ? "the bridge process exited" : problemReport(parts, cleartext)) });
      return { tracker, load };
    } catch (err) {
      throw new BenchFailure(`${o.scenario}, ${DIRECTION_LABELS[direction]}: ${(err as Error).message}${bridgeTail(parts)}`);
    } finally {
      whatsapp.throwIfWatchFailed();
    }
  };

  try {
    if (!portals) {
      parts.progress(`opening ${contacts.length} portals`);
      const opened = await openPortals(parts, contacts, { encrypted: o.encrypted, concurrency: contacts.length, timeoutMs: o.timeoutMs });
      for (const [k, v] of opened.roomOf) roomOf.set(k, v);
      for (const [k, v] of opened.contactOfRoom) contactOfRoom.set(k, v);
    }
    for (const c of contacts) if (!roomOf.has(c.phone)) throw new BenchFailure(`${o.scenario}: no portal was opened for ${c.phone}`);

    const setupProblem = problemReport(parts, cleartext);
    if (setupProblem) throw new BenchFailure(`${o.scenario}, opening portals: ${setupProblem}`);

    // Every chat's first message sets up a Signal session (and the first Matrix message registers the user's
    // interop identity); that one-off cost is not what the steady-state numbers are about.
    parts.progress("warming up: one message per chat each way");
    for (const direction of ["matrix-to-whatsapp", "whatsapp-to-matrix"] as const) {
      const { tracker } = await run(`warm-up ${direction} ${runId}`, direction, contacts.length, contacts.length);
      await sleep(200);
      tracker.assertExactlyOnce(`${o.scenario}, warm-up ${DIRECTION_LABELS[direction]}`);
      active.delete(tracker);
    }

    const results: DirectionResult[] = [];
    for (const direction of ["matrix-to-whatsapp", "whatsapp-to-matrix"] as const) {
      parts.progress(`${DIRECTION_LABELS[direction]}: ${o.n} messages, ${o.concurrency} in flight, over ${contacts.length} chats`);
      const pid = bridgePid(parts);
      const perDirection = resetPeakRss(pid);
      const cpuBefore = cpuTimeMs(pid);
      const othersBefore = parts.others.map((p) => p.cpuTimeMs());
      const prefix = `bench ${o.scenario} ${direction} ${runId}`;
      const { tracker, load } = await run(prefix, direction, o.n, o.concurrency);
      await sleep(SETTLE_MS);
      tracker.assertExactlyOnce(`${o.scenario}, ${DIRECTION_LABELS[direction]}`);
      if (direction === "matrix-to-whatsapp") await assertStoredOnce(whatsapp, prefix, o.n, `${o.scenario}, ${DIRECTION_LABELS[direction]}`);
      const cpuAfter = cpuTimeMs(bridgePid(parts));
      const othersAfter = parts.others.map((p) => p.cpuTimeMs());
      const peak = peakRssBytes(pid);
      active.delete(tracker);
      const problem = problemReport(parts, cleartext);
      if (problem) throw new BenchFailure(`${o.scenario}: ${problem}`);
      const seconds = (load.lastArrivedAt - load.firstSentAt) / 1000;
      results.push({
        direction,
        messages: o.n,
        seconds,
        perSecond: o.n / seconds,
        latencyMs: summarize(load.latenciesMs),
        bridgeCpuMsPerMessage: (cpuAfter - cpuBefore) / o.n,
        bridgePeakRssMiB: peak / (1024 * 1024),
        peakIsPerDirection: perDirection,
        otherCpuMsPerMessage: Object.fromEntries(parts.others.map((p, i) => [p.name, (othersAfter[i]! - othersBefore[i]!) / o.n])),
      });
    }
    return results;
  } finally {
    offWa();
    offMx();
  }
}

/** Cross-checks the event stream against the gatekeeper's own record: each message stored exactly once. */
async function assertStoredOnce(whatsapp: WhatsAppSide, prefix: string, n: number, what: string): Promise<void> {
  const counts = new Map<string, number>();
  for (const c of whatsapp.watched) {
    for (const text of await whatsapp.receivedTexts(c)) {
      if (text.startsWith(prefix)) counts.set(text, (counts.get(text) ?? 0) + 1);
    }
  }
  const duplicated = [...counts.values()].filter((k) => k > 1).length;
  if (counts.size !== n || duplicated > 0) {
    throw new BenchFailure(`${what}: the gatekeeper stored ${counts.size} distinct messages of ${n} sent, ${duplicated} of them more than once`);
  }
}

/** The CPU time of this process (load generator, observers, and the fake homeserver when there is one). */
export function benchProcess(name: string): OtherProcess {
  return {
    name,
    cpuTimeMs: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    },
  };
}

/**
 * The one descendant process running `program` (the basename of argv[0], e.g. "node" or "python3") with an
 * argument containing `argument`; throws if there is none or several.
 */
export function childProcess(name: string, program: string, argument: string): OtherProcess {
  const pids = findDescendants((argv) => basename(argv[0] ?? "") === program && argv.slice(1).some((a) => a.includes(argument)));
  if (pids.length !== 1) throw new BenchFailure(`expected one ${name} process (${program} … ${argument}), found ${pids.length}`);
  const pid = pids[0]!;
  return { name, cpuTimeMs: () => cpuTimeMs(pid) };
}

export function problemReport(parts: Pick<BenchParts, "problems">, cleartext: string[]): string | undefined {
  const problems = [...(parts.problems?.() ?? []), ...cleartext];
  if (problems.length === 0) return undefined;
  return `${problems.length} things went wrong, so the numbers would not be the bridge's real work:\n  ${problems.slice(0, 10).join("\n  ")}`;
}

function bridgePid(parts: BenchParts): number {
  const pid = parts.bridge.pid;
  if (pid === undefined) throw new BenchFailure(`the bridge process is not running${bridgeTail(parts)}`);
  return pid;
}

export function bridgeTail(parts: Pick<BenchParts, "bridge">): string {
  const logs = parts.bridge.logs.trim();
  // Distinct lines only, each cut short: a retried failure logs the same long line many times over.
  const distinct = new Map(logs.split("\n").slice(-200).map((l) => [l.replace(/"time":\d+,/, ""), l] as const));
  const lines = [...distinct.values()].slice(-8).map((l) => (l.length > 600 ? `${l.slice(0, 600)}…` : l));
  return logs ? `\nlast distinct bridge log lines:\n${lines.join("\n")}` : "";
}
