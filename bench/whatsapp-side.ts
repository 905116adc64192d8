// The WhatsApp side of a benchmark: a real reference gatekeeper process with one simulated user per chat, watched
// over the admin API's event stream so that every message a simulated user receives is seen as it is stored.
import { GatekeeperProcess, type ReceivedMessage } from "../src/gatekeeper/process.js";
import { BenchFailure } from "./failure.js";

export interface BenchContact {
  /** E.164 number of the simulated user. */
  phone: string;
  name: string;
}

/** What a simulated user received: the text (for text messages) and when the gatekeeper stored it. */
export type WhatsAppArrival = (contact: BenchContact, sender: string, text: string, receivedAt: number) => void;

/** Numbers in Germany's mobile range, distinct per chat (the puppets are @wa_<digits>). */
export function benchContacts(count: number): BenchContact[] {
  return Array.from({ length: count }, (_, i) => ({ phone: `+49151${String(7_000_000 + i).padStart(8, "0")}`, name: `Bench Contact ${i + 1}` }));
}

function textOf(m: ReceivedMessage): string | undefined {
  const message = (m.content as { message?: { conversation?: unknown; extendedTextMessage?: { text?: unknown } } }).message;
  const text = message?.conversation ?? message?.extendedTextMessage?.text;
  return typeof text === "string" ? text : undefined;
}

export class WhatsAppSide {
  private readonly listeners = new Set<WhatsAppArrival>();
  private readonly watches = new AbortController();
  private watchFailure: unknown;

  private constructor(
    readonly gatekeeper: GatekeeperProcess,
    readonly contacts: BenchContact[],
    /** The contacts whose received messages are watched (and counted): the ones the load is sent to. */
    readonly watched: BenchContact[],
  ) {}

  /**
   * Starts a gatekeeper with the contacts (one device each, opted in, sending delivery receipts as a phone does).
   * The rate and flood limits are set out of reach: they would otherwise measure themselves. Only `watch` (default:
   * all) are watched: each watch holds an admin connection open, and the gatekeeper's admin API is sized for them.
   */
  static async start(contacts: BenchContact[], opts: { watch?: BenchContact[]; progress?: (line: string) => void } = {}): Promise<WhatsAppSide> {
    const watched = opts.watch ?? contacts;
    const gk = await GatekeeperProcess.start({
      rateLimit: { burst: 1_000_000, perSecond: 1_000_000 },
      senderLimits: { messagesPerMinute: 0, newChatsPerHour: 0 },
      logLevel: "warn",
      // One per watch stream, and room for the sends: a warm-up sends to every watched user at once.
      adminMaxConnections: 2 * watched.length + 64,
    });
    const side = new WhatsAppSide(gk, contacts, watched);
    try {
      // A few at a time: each new user's keys are made by the gatekeeper, and thousands one by one take minutes.
      let next = 0;
      let added = 0;
      const adder = async () => {
        while (next < contacts.length) {
          const c = contacts[next++]!;
          await gk.addUser(c.phone, c.name, { devices: 1 });
          if (++added % 1000 === 0) opts.progress?.(`${added} of ${contacts.length} simulated users added`);
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, contacts.length) }, adder));
      for (const c of watched) side.watch(c);
    } catch (err) {
      await side.stop();
      throw err;
    }
    return side;
  }

  /** Enlists the bridge as the provider for the Matrix users of `domain`. */
  async enlist(providerId: string, providerPublicKey: string, domain: string): Promise<void> {
    await this.gatekeeper.addProvider(providerId, providerPublicKey, [domain]);
  }

  get url(): string {
    return this.gatekeeper.url;
  }

  onArrival(listener: WhatsAppArrival): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The simulated user `contact` sends `text` to the interop URI `to`; resolves once the gatekeeper accepted it. */
  async send(contact: BenchContact, to: string, text: string): Promise<void> {
    this.throwIfWatchFailed();
    await this.gatekeeper.sendAs(contact.phone, { to, text });
  }

  /** The texts the contact has received so far, read from the gatekeeper's store (the authoritative record). */
  async receivedTexts(contact: BenchContact): Promise<string[]> {
    const texts: string[] = [];
    let after = 0;
    for (;;) {
      const page = await this.gatekeeper.received(contact.phone, after);
      if (page.length === 0) return texts;
      for (const m of page) {
        const t = textOf(m);
        if (t !== undefined) texts.push(t);
      }
      after = page[page.length - 1]!.seq;
    }
  }

  async stop(): Promise<void> {
    this.watches.abort();
    await this.gatekeeper.stop();
  }

  throwIfWatchFailed(): void {
    if (this.watchFailure !== undefined) {
      throw new BenchFailure(`watching the simulated users' messages failed: ${(this.watchFailure as Error)?.message ?? String(this.watchFailure)}`);
    }
  }

  private watch(contact: BenchContact): void {
    const onMessage = (m: ReceivedMessage) => {
      const text = textOf(m);
      if (text === undefined) return;
      for (const l of this.listeners) l(contact, m.sender, text, m.receivedAt);
    };
    this.gatekeeper.admin.watch(contact.phone, onMessage, this.watches.signal).then(
      () => {
        if (!this.watches.signal.aborted) this.watchFailure ??= new Error(`the event stream of ${contact.phone} ended`);
      },
      (err: unknown) => {
        this.watchFailure ??= err;
      },
    );
  }
}
