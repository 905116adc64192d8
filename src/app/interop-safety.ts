// Trust and safety over the interop network, for the core's RemoteSafety port: security codes (libsignal's
// fingerprint of the user's interop identity and each contact device's), verification, announcing identity changes
// and new devices once each, and blocks and reports, which the gatekeeper keeps and enforces.
//
// What the user was told is kept in the store (identity_trust); what the keys are now is the Signal store's, which
// commits together with the ratchet step that saw a new key. Comparing the two after every message in a chat finds
// each change exactly once, whether a send or a receive saw it first, and also after a crash in between.
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { IdentityChangePolicy } from "../config/schema.js";
import type { IdentityNews, RemoteSafety, ReportReasonName, SafetyNumber, VerifyResult } from "../core/ports.js";
import type { InteropClient } from "../interop/client.js";
import { messageIdFromString } from "../protocol/message-id.js";
import { ReportReason } from "../protocol/safety.js";
import type { SignalDeviceStore } from "../protocol/signal/device-store.js";
import { currentRemoteIdentities, localIdentityKey, safetyNumberOf, scannableMatches, type RemoteIdentity } from "../protocol/signal/identity.js";
import { matrixUri } from "../protocol/uri.js";
import type { IdentityTrustStore, TrustRow } from "../store/identity-trust.js";

const REASONS: Record<ReportReasonName, ReportReason> = {
  spam: ReportReason.SPAM,
  abuse: ReportReason.ABUSE,
  scam: ReportReason.SCAM,
  other: ReportReason.OTHER,
};

export interface InteropSafetyDeps {
  client: InteropClient;
  trust: IdentityTrustStore;
  /** The Signal store of the user's interop device; undefined before the user has one. */
  device: (matrixUser: string) => Promise<SignalDeviceStore | undefined>;
  policy: IdentityChangePolicy;
  log: Logger;
  /** Turns a gatekeeper failure into the core's RemoteError. */
  toRemoteError: (err: unknown) => Error;
}

interface Current {
  localUri: string;
  localKey: Uint8Array;
  identities: (RemoteIdentity & { hash: string })[];
}

interface Pending {
  news: IdentityNews;
  hash: string;
}

const hashOf = (key: Uint8Array) => createHash("sha256").update(key).digest("hex");

export class InteropSafety implements RemoteSafety {
  /** Each user's blocks as the gatekeeper last answered them; the bridge is their only writer. */
  private readonly blocks = new Map<string, Set<string>>();

  constructor(private readonly deps: InteropSafetyDeps) {}

  async safetyNumbers(matrixUser: string, contact: string): Promise<SafetyNumber[]> {
    const current = await this.current(matrixUser, contact);
    if (!current) return [];
    return current.identities.map((id) => {
      const n = safetyNumberOf(current.localUri, current.localKey, contact, id.identityKey);
      return { device: id.deviceId, digits: n.digits, qr: Buffer.from(n.scannable).toString("base64") };
    });
  }

  async verify(matrixUser: string, contact: string, code?: string): Promise<VerifyResult> {
    const current = await this.current(matrixUser, contact);
    if (!current || current.identities.length === 0) return { ok: false, reason: "no_session" };
    let chosen = current.identities;
    if (code !== undefined) {
      const digits = code.replace(/[\s-]/g, "");
      const scanned = /^\d{60}$/.test(digits) ? undefined : decodeBase64(code.trim());
      chosen = current.identities.filter((id) => {
        const n = safetyNumberOf(current.localUri, current.localKey, contact, id.identityKey);
        return scanned ? scannableMatches(n.scannable, scanned) : n.digits === digits;
      });
      if (chosen.length === 0) return { ok: false, reason: "mismatch" };
    }
    await this.deps.trust.verify(
      matrixUser,
      contact,
      chosen.map((id) => ({ device: id.deviceId, identityHash: id.hash })),
      current.identities.map((id) => id.deviceId),
    );
    this.deps.log.info({ devices: chosen.map((id) => id.deviceId) }, "the user verified a contact's security code");
    return { ok: true, devices: chosen.map((id) => id.deviceId) };
  }

  async identityNews(matrixUser: string, contact: string): Promise<IdentityNews[]> {
    return (await this.pending(matrixUser, contact)).map((p) => p.news);
  }

  async identityNewsTold(matrixUser: string, contact: string, told: readonly IdentityNews[]): Promise<void> {
    const refs = new Set(told.map((n) => n.ref));
    for (const p of await this.pending(matrixUser, contact)) {
      if (!refs.has(p.news.ref)) continue;
      await this.deps.trust.acknowledge(matrixUser, contact, p.news.device, p.hash, p.news.wasVerified);
    }
  }

  async mustReverify(matrixUser: string, contact: string): Promise<boolean> {
    if (this.deps.policy !== "block_until_verified") return false;
    const rows = await this.deps.trust.forContact(matrixUser, contact);
    if (rows.some((r) => r.reverifyNeeded)) return true;
    return (await this.pending(matrixUser, contact)).some((p) => p.news.wasVerified);
  }

  async block(matrixUser: string, contact: string): Promise<void> {
    this.blocks.set(matrixUser, new Set(await this.remote(() => this.deps.client.block(matrixUri(matrixUser), contact))));
  }

  async unblock(matrixUser: string, contact: string): Promise<void> {
    this.blocks.set(matrixUser, new Set(await this.remote(() => this.deps.client.unblock(matrixUri(matrixUser), contact))));
  }

  async blocked(matrixUser: string): Promise<string[]> {
    const list = await this.remote(() => this.deps.client.blocks(matrixUri(matrixUser)));
    this.blocks.set(matrixUser, new Set(list));
    return list;
  }

  async isBlocked(matrixUser: string, contact: string): Promise<boolean> {
    let known = this.blocks.get(matrixUser);
    if (!known) {
      try {
        known = new Set(await this.deps.client.blocks(matrixUri(matrixUser)));
        this.blocks.set(matrixUser, known);
      } catch (err) {
        // Unknown is not blocked: the message is queued as usual, and the next check asks again.
        this.deps.log.warn({ err }, "could not read the user's blocks from the gatekeeper");
        return false;
      }
    }
    return known.has(contact);
  }

  report(matrixUser: string, contact: string, messageIds: readonly string[], reason: ReportReasonName): Promise<string> {
    return this.remote(() =>
      this.deps.client.report({ reporter: matrixUri(matrixUser), reported: contact, messageIds: messageIds.map(messageIdFromString), reason: REASONS[reason] }),
    );
  }

  private async remote<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.deps.toRemoteError(err);
    }
  }

  /** The devices the directory lists for the contact; none when it cannot be asked now (the check is only a courtesy). */
  private async listedDevices(contact: string): Promise<number[]> {
    try {
      return (await this.deps.client.lookup(contact)).devices.map((d) => d.deviceId);
    } catch (err) {
      this.deps.log.warn({ err }, "could not list the contact's devices; one first written to later will be announced as new");
      return [];
    }
  }

  /** The contact's current identities as the Signal store has them (committed state). */
  private async current(matrixUser: string, contact: string): Promise<Current | undefined> {
    const store = await this.deps.device(matrixUser);
    if (!store) return undefined;
    const uow = await store.begin();
    try {
      return {
        localUri: store.local.uri,
        localKey: localIdentityKey(uow),
        identities: (await currentRemoteIdentities(uow, contact)).map((id) => ({ ...id, hash: hashOf(id.identityKey) })),
      };
    } finally {
      uow.discard();
    }
  }

  /**
   * What the user has not been told: a device whose key differs from the one they know (changed), or a device they
   * never heard of while they know others (new device). A contact the user knows nothing of yet is trusted as first
   * seen, silently: there is nothing to compare with.
   */
  private async pending(matrixUser: string, contact: string): Promise<Pending[]> {
    const current = await this.current(matrixUser, contact);
    if (!current || current.identities.length === 0) return [];
    const rows = await this.deps.trust.forContact(matrixUser, contact);
    if (rows.length === 0) {
      for (const id of current.identities) await this.deps.trust.acknowledge(matrixUser, contact, id.deviceId, id.hash, false);
      // The contact's other devices are there from the start too: the first message came from one of them, and the
      // others must not be announced as new when the bridge first writes to them. Their keys are taken when first seen.
      const known = new Set(current.identities.map((id) => id.deviceId));
      for (const device of await this.listedDevices(contact)) {
        if (!known.has(device)) await this.deps.trust.acknowledge(matrixUser, contact, device, KEY_NOT_SEEN_YET, false);
      }
      return [];
    }
    const byDevice = new Map<number, TrustRow>(rows.map((r) => [r.device, r]));
    const verifiedContact = rows.some((r) => r.verifiedAt !== null);
    const out: Pending[] = [];
    for (const id of current.identities) {
      const row = byDevice.get(id.deviceId);
      if (row && row.identityHash === id.hash) continue;
      if (row?.identityHash === KEY_NOT_SEEN_YET) {
        await this.deps.trust.acknowledge(matrixUser, contact, id.deviceId, id.hash, false);
        continue;
      }
      const kind = row ? "changed" : "new_device";
      const wasVerified = row ? row.verifiedAt !== null : verifiedContact;
      const ref = createHash("sha256").update(`${matrixUser}\u0000${contact}\u0000${id.deviceId}\u0000${id.hash}`).digest("hex").slice(0, 32);
      out.push({ news: { device: id.deviceId, kind, wasVerified, ref }, hash: id.hash });
    }
    return out;
  }
}

/** The identity of a device the directory listed when the contact was first seen, before any session with it. */
const KEY_NOT_SEEN_YET = "";

function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, "base64"));
}
