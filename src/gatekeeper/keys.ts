// Key service: devices' public identity and prekeys for any URI (tel: simulated users and matrix: provider users).
// One-time prekeys are handed out exactly once: the read and the delete happen in one SQLite transaction.
import { KEMPublicKey, PublicKey } from "@signalapp/libsignal-client";
import {
  keysUploadRequestSchema,
  type DeviceKeysUpload,
  type DevicePreKeyBundle,
  type PreKeyCountResponse,
  type SignedPublicPreKey,
} from "../protocol/signal/bundle.js";
import type { Db } from "./db.js";
import { invalid, HttpError } from "./http-error.js";

export interface DeviceRef {
  deviceId: number;
  registrationId: number;
}

export interface PrekeyLevel {
  uri: string;
  deviceId: number;
  oneTimePreKeys: number;
  oneTimeKyberPreKeys: number;
}

const b = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** Checks that keys parse as libsignal keys and that the identity key signed the prekeys, so bad uploads fail here
 * with a clear message instead of later in someone's session set-up. */
function verifyDeviceKeys(d: DeviceKeysUpload): void {
  let identity: PublicKey;
  try {
    identity = PublicKey.deserialize(b(d.identityKey));
  } catch {
    throw invalid(`device ${d.deviceId}: identityKey is not a serialized Curve25519 public key`);
  }
  const checkSigned = (what: string, k: SignedPublicPreKey, kem: boolean) => {
    try {
      if (kem) KEMPublicKey.deserialize(b(k.publicKey));
      else PublicKey.deserialize(b(k.publicKey));
    } catch {
      throw invalid(`device ${d.deviceId}: ${what} ${k.keyId} is not a serialized ${kem ? "Kyber" : "Curve25519"} public key`);
    }
    if (!identity.verify(b(k.publicKey), b(k.signature))) throw invalid(`device ${d.deviceId}: ${what} ${k.keyId} has a bad signature`);
  };
  checkSigned("signedPreKey", d.signedPreKey, false);
  checkSigned("kyberLastResortPreKey", d.kyberLastResortPreKey, true);
  for (const k of d.oneTimeKyberPreKeys ?? []) checkSigned("oneTimeKyberPreKey", k, true);
  for (const k of d.oneTimePreKeys ?? []) {
    try {
      PublicKey.deserialize(b(k.publicKey));
    } catch {
      throw invalid(`device ${d.deviceId}: oneTimePreKey ${k.keyId} is not a serialized Curve25519 public key`);
    }
  }
}

export class KeyStore {
  constructor(private readonly db: Db) {}

  /** Stores a user's device keys. A new identity key or registration id is a re-registration: the device's old
   * one-time keys go. Omitted one-time lists leave what the server holds unchanged. */
  upload(uri: string, devices: DeviceKeysUpload[]): void {
    for (const d of devices) verifyDeviceKeys(d);
    const now = Date.now();
    this.db.transaction(() => {
      for (const d of devices) {
        const old = this.db.prepare("SELECT registration_id, identity_key FROM key_devices WHERE uri = ? AND device_id = ?").get(uri, d.deviceId) as
          | { registration_id: number; identity_key: string }
          | undefined;
        if (old && (old.registration_id !== d.registrationId || old.identity_key !== d.identityKey)) this.deleteOneTimeKeys(uri, d.deviceId);
        this.db
          .prepare(
            `INSERT INTO key_devices (uri, device_id, registration_id, identity_key, signed_prekey, kyber_last_resort, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (uri, device_id) DO UPDATE SET registration_id = excluded.registration_id, identity_key = excluded.identity_key,
               signed_prekey = excluded.signed_prekey, kyber_last_resort = excluded.kyber_last_resort, updated_at = excluded.updated_at`,
          )
          .run(uri, d.deviceId, d.registrationId, d.identityKey, JSON.stringify(d.signedPreKey), JSON.stringify(d.kyberLastResortPreKey), now);
        const ec = this.db.prepare("INSERT OR REPLACE INTO one_time_prekeys (uri, device_id, key_id, public_key) VALUES (?, ?, ?, ?)");
        for (const k of d.oneTimePreKeys ?? []) ec.run(uri, d.deviceId, k.keyId, k.publicKey);
        const kyber = this.db.prepare("INSERT OR REPLACE INTO one_time_kyber_prekeys (uri, device_id, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?)");
        for (const k of d.oneTimeKyberPreKeys ?? []) kyber.run(uri, d.deviceId, k.keyId, k.publicKey, k.signature);
      }
    })();
  }

  devices(uri: string): DeviceRef[] {
    return (this.db.prepare("SELECT device_id, registration_id FROM key_devices WHERE uri = ? ORDER BY device_id").all(uri) as {
      device_id: number;
      registration_id: number;
    }[]).map((r) => ({ deviceId: r.device_id, registrationId: r.registration_id }));
  }

  removeDevice(uri: string, deviceId: number): boolean {
    return this.db.transaction(() => {
      this.deleteOneTimeKeys(uri, deviceId);
      return this.db.prepare("DELETE FROM key_devices WHERE uri = ? AND device_id = ?").run(uri, deviceId).changes > 0;
    })();
  }

  /** Hands out bundles, consuming one one-time EC and one one-time Kyber prekey per device (when any are left).
   * Returns the levels left afterwards so the caller can warn the owner. */
  fetchBundles(uri: string, deviceId?: number): { bundles: DevicePreKeyBundle[]; levels: PrekeyLevel[] } {
    return this.db.transaction(() => {
      const rows = (deviceId === undefined
        ? this.db.prepare("SELECT * FROM key_devices WHERE uri = ? ORDER BY device_id").all(uri)
        : this.db.prepare("SELECT * FROM key_devices WHERE uri = ? AND device_id = ?").all(uri, deviceId)) as {
        device_id: number;
        registration_id: number;
        identity_key: string;
        signed_prekey: string;
        kyber_last_resort: string;
      }[];
      const bundles: DevicePreKeyBundle[] = [];
      const levels: PrekeyLevel[] = [];
      for (const r of rows) {
        const ec = this.db
          .prepare("DELETE FROM one_time_prekeys WHERE rowid = (SELECT rowid FROM one_time_prekeys WHERE uri = ? AND device_id = ? ORDER BY key_id LIMIT 1) RETURNING key_id, public_key")
          .get(uri, r.device_id) as { key_id: number; public_key: string } | undefined;
        const kyber = this.db
          .prepare(
            "DELETE FROM one_time_kyber_prekeys WHERE rowid = (SELECT rowid FROM one_time_kyber_prekeys WHERE uri = ? AND device_id = ? ORDER BY key_id LIMIT 1) RETURNING key_id, public_key, signature",
          )
          .get(uri, r.device_id) as { key_id: number; public_key: string; signature: string } | undefined;
        const bundle: DevicePreKeyBundle = {
          deviceId: r.device_id,
          registrationId: r.registration_id,
          identityKey: r.identity_key,
          signedPreKey: JSON.parse(r.signed_prekey) as SignedPublicPreKey,
          kyberPreKey: kyber ? { keyId: kyber.key_id, publicKey: kyber.public_key, signature: kyber.signature } : (JSON.parse(r.kyber_last_resort) as SignedPublicPreKey),
        };
        if (ec) bundle.preKey = { keyId: ec.key_id, publicKey: ec.public_key };
        bundles.push(bundle);
        levels.push({ uri, deviceId: r.device_id, ...this.countFor(uri, r.device_id) });
      }
      return { bundles, levels };
    })();
  }

  counts(uri: string): PreKeyCountResponse {
    return { user: uri, devices: this.devices(uri).map((d) => ({ deviceId: d.deviceId, ...this.countFor(uri, d.deviceId) })) };
  }

  private countFor(uri: string, deviceId: number): { oneTimePreKeys: number; oneTimeKyberPreKeys: number } {
    const ec = this.db.prepare("SELECT count(*) AS n FROM one_time_prekeys WHERE uri = ? AND device_id = ?").get(uri, deviceId) as { n: number };
    const kyber = this.db.prepare("SELECT count(*) AS n FROM one_time_kyber_prekeys WHERE uri = ? AND device_id = ?").get(uri, deviceId) as { n: number };
    return { oneTimePreKeys: ec.n, oneTimeKyberPreKeys: kyber.n };
  }

  private deleteOneTimeKeys(uri: string, deviceId: number): void {
    this.db.prepare("DELETE FROM one_time_prekeys WHERE uri = ? AND device_id = ?").run(uri, deviceId);
    this.db.prepare("DELETE FROM one_time_kyber_prekeys WHERE uri = ? AND device_id = ?").run(uri, deviceId);
  }
}

/** Parses an untrusted upload body into typed device keys, with a readable message on failure. */
export function parseKeysUpload(body: unknown): DeviceKeysUpload[] {
  const parsed = keysUploadRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`keys upload: ${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  const ids = parsed.data.devices.map((d) => d.deviceId);
  if (new Set(ids).size !== ids.length) throw new HttpError(400, "INVALID", "keys upload: a device id appears twice");
  return parsed.data.devices as DeviceKeysUpload[];
}
