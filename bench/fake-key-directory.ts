// The end-to-end-encryption part of the fake homeserver: a directory of device keys, one-time keys and
// cross-signing keys, and to-device delivery. Keys are stored and handed out as uploaded (they are signed by the
// devices that made them, and the clients check those signatures), so real crypto engines work against it.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ToDeviceEvent } from "../src/matrix/events.js";

type Json = Record<string, unknown>;

/** What the key directory needs from the homeserver it is part of. */
export interface KeyDirectoryHost {
  /** The user and device a request acts as; throws the homeserver's error when it may not act. */
  actor(req: FastifyRequest): { userId: string; deviceId: string | undefined };
  /** Whether the user belongs to the appservice (its to-device messages travel in transactions). */
  isAppserviceUser(userId: string): boolean;
  pushToDevice(ev: ToDeviceEvent): void;
  /** A user's device keys changed; the appservice hears of it in `device_lists.changed`. */
  deviceListChanged(userId: string): void;
  badRequest(message: string): Error;
}

interface UserKeys {
  devices: Map<string, Json>;
  oneTimeKeys: Map<string, Map<string, Json | string>>;
  fallbackKeys: Map<string, Map<string, Json | string>>;
  master?: Json;
  selfSigning?: Json;
  userSigning?: Json;
}

const CS = "/_matrix/client/v3";

export class FakeKeyDirectory {
  private readonly users = new Map<string, UserKeys>();
  private readonly toDeviceTxns = new Set<string>();
  /** To-device messages for users outside the appservice (the benchmark's own Matrix user). */
  private readonly localListeners = new Set<(ev: ToDeviceEvent) => void>();
  /** Devices of these users changed; what sync's `device_lists.changed` tells a client. */
  private readonly deviceListeners = new Set<(userIds: string[]) => void>();

  constructor(private readonly host: KeyDirectoryHost) {}

  onLocalToDevice(listener: (ev: ToDeviceEvent) => void): () => void {
    this.localListeners.add(listener);
    return () => this.localListeners.delete(listener);
  }

  onDeviceListChange(listener: (userIds: string[]) => void): () => void {
    this.deviceListeners.add(listener);
    return () => this.deviceListeners.delete(listener);
  }

  private changed(userId: string): void {
    this.host.deviceListChanged(userId);
    for (const l of this.deviceListeners) l([userId]);
  }

  private keysOf(userId: string): UserKeys {
    let k = this.users.get(userId);
    if (!k) {
      k = { devices: new Map(), oneTimeKeys: new Map(), fallbackKeys: new Map() };
      this.users.set(userId, k);
    }
    return k;
  }

  /** Uploads device keys and one-time keys (as the acting device). Returns the one-time-key counts. */
  upload(userId: string, actingDevice: string | undefined, body: Json): Record<string, number> {
    const keys = this.keysOf(userId);
    const deviceKeys = body.device_keys as Json | undefined;
    let deviceId = actingDevice;
    if (deviceKeys) {
      if (deviceKeys.user_id !== userId) throw this.host.badRequest("device_keys.user_id is not the uploading user");
      if (typeof deviceKeys.device_id !== "string" || (actingDevice !== undefined && deviceKeys.device_id !== actingDevice)) {
        throw this.host.badRequest("device_keys.device_id is not the uploading device");
      }
      deviceId = deviceKeys.device_id;
      keys.devices.set(deviceId, deviceKeys);
      this.changed(userId);
    }
    if (deviceId === undefined) throw this.host.badRequest("keys/upload needs a device (device_id or device_keys)");
    const store = (into: Map<string, Map<string, Json | string>>, from: unknown) => {
      if (!from || typeof from !== "object") return;
      const map = into.get(deviceId) ?? new Map<string, Json | string>();
      for (const [keyId, key] of Object.entries(from as Json)) map.set(keyId, key as Json | string);
      into.set(deviceId, map);
    };
    store(keys.oneTimeKeys, body.one_time_keys);
    if (body.fallback_keys) keys.fallbackKeys.delete(deviceId); // a new fallback key replaces the old one
    store(keys.fallbackKeys, body.fallback_keys);
    const counts: Record<string, number> = {};
    for (const keyId of keys.oneTimeKeys.get(deviceId)?.keys() ?? []) {
      const algorithm = keyId.split(":")[0]!;
      counts[algorithm] = (counts[algorithm] ?? 0) + 1;
    }
    return counts;
  }

  query(requester: string, body: Json): Json {
    const wanted = (body.device_keys ?? {}) as Record<string, string[]>;
    const deviceKeys: Record<string, Record<string, Json>> = {};
    const master: Record<string, Json> = {};
    const selfSigning: Record<string, Json> = {};
    const userSigning: Record<string, Json> = {};
    for (const [userId, devices] of Object.entries(wanted)) {
      const keys = this.users.get(userId);
      deviceKeys[userId] = {};
      if (!keys) continue;
      for (const [deviceId, k] of keys.devices) if (!Array.isArray(devices) || devices.length === 0 || devices.includes(deviceId)) deviceKeys[userId][deviceId] = k;
      if (keys.master) master[userId] = keys.master;
      if (keys.selfSigning) selfSigning[userId] = keys.selfSigning;
      if (keys.userSigning && userId === requester) userSigning[userId] = keys.userSigning;
    }
    return { device_keys: deviceKeys, master_keys: master, self_signing_keys: selfSigning, user_signing_keys: userSigning, failures: {} };
  }

  /** Hands out one one-time key per asked-for device (the fallback key once they are used up). */
  claim(body: Json): Json {
    const wanted = (body.one_time_keys ?? {}) as Record<string, Record<string, string>>;
    const out: Record<string, Record<string, Record<string, Json | string>>> = {};
    for (const [userId, devices] of Object.entries(wanted)) {
      const keys = this.users.get(userId);
      if (!keys) continue;
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        const pick = (from: Map<string, Json | string> | undefined, consume: boolean) => {
          for (const [keyId, key] of from ?? []) {
            if (!keyId.startsWith(`${algorithm}:`)) continue;
            if (consume) from!.delete(keyId);
            return [keyId, key] as const;
          }
          return undefined;
        };
        const found = pick(keys.oneTimeKeys.get(deviceId), true) ?? pick(keys.fallbackKeys.get(deviceId), false);
        if (!found) continue;
        ((out[userId] ??= {})[deviceId] ??= {})[found[0]] = found[1];
      }
    }
    return { one_time_keys: out, failures: {} };
  }

  uploadCrossSigning(userId: string, body: Json): void {
    const keys = this.keysOf(userId);
    if (body.master_key) keys.master = body.master_key as Json;
    if (body.self_signing_key) keys.selfSigning = body.self_signing_key as Json;
    if (body.user_signing_key) keys.userSigning = body.user_signing_key as Json;
    this.changed(userId);
  }

  /** Merges uploaded signatures into the device or cross-signing key they sign. */
  uploadSignatures(body: Json): Json {
    const failures: Record<string, Record<string, Json>> = {};
    for (const [userId, targets] of Object.entries(body as Record<string, Record<string, Json>>)) {
      const keys = this.users.get(userId);
      for (const [keyId, signed] of Object.entries(targets)) {
        const target = keys?.devices.get(keyId) ?? [keys?.master, keys?.selfSigning].find((k) => k && Object.keys((k.keys ?? {}) as Json).some((id) => id.endsWith(`:${keyId}`)));
        if (!target) {
          (failures[userId] ??= {})[keyId] = { errcode: "M_NOT_FOUND", error: "no such key" };
          continue;
        }
        const into = ((target.signatures ??= {}) as Record<string, Json>);
        for (const [signer, sigs] of Object.entries((signed.signatures ?? {}) as Record<string, Json>)) into[signer] = { ...(into[signer] ?? {}), ...sigs };
      }
      if (keys) this.changed(userId);
    }
    return { failures };
  }

  sendToDevice(sender: string, type: string, txnId: string, body: Json): void {
    const key = `${sender}\u0000${txnId}`;
    if (this.toDeviceTxns.has(key)) return; // a repeated transaction is delivered once
    this.toDeviceTxns.add(key);
    for (const [userId, devices] of Object.entries((body.messages ?? {}) as Record<string, Record<string, Json>>)) {
      const known = [...(this.users.get(userId)?.devices.keys() ?? [])];
      for (const [deviceId, content] of Object.entries(devices)) {
        for (const target of deviceId === "*" ? known : [deviceId]) {
          const ev: ToDeviceEvent = { type, sender, to_user_id: userId, to_device_id: target, content };
          if (this.host.isAppserviceUser(userId)) this.host.pushToDevice(ev);
          else for (const l of this.localListeners) l(ev);
        }
      }
    }
  }

  deleteDevice(userId: string, deviceId: string): void {
    const keys = this.users.get(userId);
    if (!keys) return;
    keys.devices.delete(deviceId);
    keys.oneTimeKeys.delete(deviceId);
    keys.fallbackKeys.delete(deviceId);
    this.changed(userId);
  }

  routes(app: FastifyInstance): void {
    type P<T> = FastifyRequest<{ Params: T }>;
    const body = (req: FastifyRequest) => (req.body ?? {}) as Json;
    app.post(`${CS}/keys/upload`, async (req) => {
      const { userId, deviceId } = this.host.actor(req);
      return { one_time_key_counts: this.upload(userId, deviceId, body(req)) };
    });
    app.post(`${CS}/keys/query`, async (req) => this.query(this.host.actor(req).userId, body(req)));
    app.post(`${CS}/keys/claim`, async (req) => {
      this.host.actor(req);
      return this.claim(body(req));
    });
    app.post(`${CS}/keys/device_signing/upload`, async (req) => {
      this.uploadCrossSigning(this.host.actor(req).userId, body(req));
      return {};
    });
    app.post(`${CS}/keys/signatures/upload`, async (req) => {
      this.host.actor(req);
      return this.uploadSignatures(body(req));
    });
    app.put(`${CS}/sendToDevice/:type/:txnId`, async (req: P<{ type: string; txnId: string }>) => {
      this.sendToDevice(this.host.actor(req).userId, req.params.type, req.params.txnId, body(req));
      return {};
    });
    app.delete(`${CS}/devices/:deviceId`, async (req: P<{ deviceId: string }>) => {
      this.deleteDevice(this.host.actor(req).userId, req.params.deviceId);
      return {};
    });
  }
}
