// Every message the fault suite sends, and every copy of it that arrived: the books that must balance at the end.
// A message is identified by its text ("<run> <chat> <direction> <seq>"), unique in the run. The ledger also knows
// which fault was under way when each message was sent, so a loss can be laid at the door of a kind of fault.

export type Direction = "to-whatsapp" | "to-matrix";

export interface SentMessage {
  text: string;
  chat: string;
  direction: Direction;
  seq: number;
  sentAt: number;
  /** The fault in progress when it was sent ("none" between faults). */
  during: string;
  /** The send call failed or timed out: the message may exist or not (never twice). */
  uncertain: boolean;
  /** The sender's ID for it (the Matrix event ID, or the simulated user's message ID), once the send returned. */
  id?: string;
}

export interface Copy {
  /** Where it arrived: "matrix" or "<phone>#<device>". */
  at: string;
  text: string;
  /** The receiver's ID of this copy (interop message ID, or Matrix event ID), to tell a resend from a second message. */
  id?: string;
}

export interface ChatReport {
  chat: string;
  direction: Direction;
  /** Receivers (the Matrix room, or each WhatsApp device). */
  at: string;
  sent: number;
  delivered: number;
  lost: string[];
  duplicated: string[];
  /** Messages that arrived after one sent later (per receiver, first copies only). */
  outOfOrder: string[];
  uncertain: { sent: number; delivered: number };
}

export interface LedgerSummary {
  sent: number;
  uncertain: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Per fault kind: messages sent while it was under way, and how many of them were lost or duplicated. */
  byFault: Record<string, { sent: number; lost: number; duplicated: number }>;
  chats: ChatReport[];
}

export class Ledger {
  private readonly sent = new Map<string, SentMessage>();
  private readonly copies = new Map<string, Copy[]>();
  private readonly seqs = new Map<string, number>();
  /** The fault the next messages are sent under. */
  current = "none";

  constructor(readonly run: string) {}

  /** A new message text for a chat and direction, recorded as sent (call confirm or uncertain after). */
  next(chat: string, direction: Direction): SentMessage {
    const key = `${chat} ${direction}`;
    const seq = (this.seqs.get(key) ?? 0) + 1;
    this.seqs.set(key, seq);
    const m: SentMessage = { text: `${this.run} ${chat} ${direction === "to-whatsapp" ? "out" : "in"} ${seq}`, chat, direction, seq, sentAt: Date.now(), during: this.current, uncertain: false };
    this.sent.set(m.text, m);
    return m;
  }

  markUncertain(m: SentMessage): void {
    m.uncertain = true;
  }

  /** Whether a text belongs to this run (and so must be counted). */
  owns(text: string): boolean {
    return this.sent.has(text);
  }

  /** Replaces what arrived at a receiver (a Matrix room is read whole each time: events are decrypted in place). */
  setArrivals(at: string, copies: readonly { text: string; id?: string }[]): void {
    this.copies.set(at, copies.map((c) => ({ at, ...c })));
  }

  arrived(at: string, text: string, id?: string): void {
    let list = this.copies.get(at);
    if (!list) this.copies.set(at, (list = []));
    list.push(id === undefined ? { at, text } : { at, text, id });
  }

  /** The copies of a text at a receiver (for a duplicate's report). */
  copiesOf(at: string, text: string): Copy[] {
    return (this.copies.get(at) ?? []).filter((c) => c.text === text);
  }

  /** Confirmed messages lost at some receiver (after summary: for diagnosis). */
  lostMessages(receivers: (m: SentMessage) => string[]): SentMessage[] {
    return this.missing(receivers);
  }

  /** Confirmed messages not yet seen at every receiver they go to. */
  missing(receivers: (m: SentMessage) => string[]): SentMessage[] {
    const seen = new Map<string, Set<string>>();
    for (const [at, list] of this.copies) seen.set(at, new Set(list.map((c) => c.text)));
    return [...this.sent.values()].filter((m) => !m.uncertain && receivers(m).some((at) => !seen.get(at)?.has(m.text)));
  }

  summary(receivers: (m: SentMessage) => string[]): LedgerSummary {
    const byFault: LedgerSummary["byFault"] = {};
    const fault = (name: string) => (byFault[name] ??= { sent: 0, lost: 0, duplicated: 0 });
    const groups = new Map<string, SentMessage[]>();
    for (const m of this.sent.values()) {
      fault(m.during).sent++;
      for (const at of receivers(m)) {
        const key = `${m.chat}|${m.direction}|${at}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = []));
        g.push(m);
      }
    }
    const chats: ChatReport[] = [];
    for (const [key, messages] of groups) {
      const [chat, direction, at] = key.split("|") as [string, Direction, string];
      const arrivedTexts = (this.copies.get(at) ?? []).map((c) => c.text).filter((t) => messages.some((m) => m.text === t));
      const counts = new Map<string, number>();
      for (const t of arrivedTexts) counts.set(t, (counts.get(t) ?? 0) + 1);
      const lost = messages.filter((m) => !m.uncertain && !counts.has(m.text));
      const duplicated = messages.filter((m) => (counts.get(m.text) ?? 0) > 1);
      for (const m of lost) fault(m.during).lost++;
      for (const m of duplicated) fault(m.during).duplicated++;
      const seqOf = new Map(messages.map((m) => [m.text, m.seq]));
      const firsts = [...new Set(arrivedTexts)];
      const outOfOrder: string[] = [];
      let highest = 0;
      for (const t of firsts) {
        const seq = seqOf.get(t)!;
        if (seq < highest) outOfOrder.push(t);
        highest = Math.max(highest, seq);
      }
      const uncertain = messages.filter((m) => m.uncertain);
      chats.push({
        chat,
        direction,
        at,
        sent: messages.length - uncertain.length,
        delivered: messages.filter((m) => !m.uncertain && counts.has(m.text)).length,
        lost: lost.map((m) => m.text),
        duplicated: duplicated.map((m) => m.text),
        outOfOrder,
        uncertain: { sent: uncertain.length, delivered: uncertain.filter((m) => counts.has(m.text)).length },
      });
    }
    chats.sort((a, b) => `${a.chat}${a.direction}${a.at}`.localeCompare(`${b.chat}${b.direction}${b.at}`));
    const all = [...this.sent.values()];
    return {
      sent: all.length,
      uncertain: all.filter((m) => m.uncertain).length,
      delivered: chats.reduce((n, c) => n + c.delivered, 0),
      lost: chats.reduce((n, c) => n + c.lost.length, 0),
      duplicated: chats.reduce((n, c) => n + c.duplicated.length, 0),
      outOfOrder: chats.reduce((n, c) => n + c.outOfOrder.length, 0),
      byFault,
      chats,
    };
  }
}
