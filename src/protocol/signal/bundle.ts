// Prekey bundles as they travel over the key service (JSON over HTTPS, binary fields base64).
// Shared by the bridge (uploads its users' keys, fetches remote bundles) and the reference gatekeeper.
import { z } from "zod";

/** A signed EC or Kyber prekey: libsignal's serialized public key and the identity key's signature over it. */
export interface SignedPublicPreKey {
  keyId: number;
  publicKey: string; // base64 of PublicKey.serialize() / KEMPublicKey.serialize()
  signature: string; // base64
}

export interface PublicPreKey {
  keyId: number;
  publicKey: string; // base64 of PublicKey.serialize()
}

/** What a device uploads: `PUT /v1/keys/{uri}`. Omitted lists leave what the server holds unchanged. */
export interface DeviceKeysUpload {
  deviceId: number;
  registrationId: number;
  identityKey: string; // base64 of the identity PublicKey.serialize()
  signedPreKey: SignedPublicPreKey;
  /** Last-resort Kyber prekey: handed out when no one-time Kyber prekey is left. */
  kyberLastResortPreKey: SignedPublicPreKey;
  oneTimePreKeys?: PublicPreKey[];
  oneTimeKyberPreKeys?: SignedPublicPreKey[];
}

export interface KeysUploadRequest {
  devices: DeviceKeysUpload[];
}

/** What a fetcher gets for one device: one-time prekeys are consumed exactly once. */
export interface DevicePreKeyBundle {
  deviceId: number;
  registrationId: number;
  identityKey: string;
  signedPreKey: SignedPublicPreKey;
  kyberPreKey: SignedPublicPreKey; // one-time if any is left, otherwise the last-resort key
  preKey?: PublicPreKey;           // absent once one-time EC prekeys ran out
}

export interface PreKeyBundleResponse {
  user: string; // URI
  devices: DevicePreKeyBundle[];
}

export interface PreKeyCountResponse {
  user: string;
  devices: { deviceId: number; oneTimePreKeys: number; oneTimeKyberPreKeys: number }[];
}

// ---- Validation of the JSON above where it enters from the network (bridge and gatekeeper both use these). ----
// Unknown fields are dropped rather than refused, so a newer peer can add fields without breaking an older one.
// Key IDs stay below 2^24 as in Signal; device IDs are libsignal's 1..127; registration IDs are 14-bit.
const keyId = z.int().min(0).max(0xffffff);
const deviceId = z.int().min(1).max(127);
const registrationId = z.int().min(1).max(16380);
const base64Key = z.base64().min(1).max(4096);

export const signedPublicPreKeySchema = z.object({
  keyId,
  publicKey: base64Key,
  signature: base64Key,
}) satisfies z.ZodType<SignedPublicPreKey>;

export const publicPreKeySchema = z.object({
  keyId,
  publicKey: base64Key,
}) satisfies z.ZodType<PublicPreKey>;

export const deviceKeysUploadSchema = z.object({
  deviceId,
  registrationId,
  identityKey: base64Key,
  signedPreKey: signedPublicPreKeySchema,
  kyberLastResortPreKey: signedPublicPreKeySchema,
  oneTimePreKeys: z.array(publicPreKeySchema).max(1000).optional(),
  oneTimeKyberPreKeys: z.array(signedPublicPreKeySchema).max(1000).optional(),
}) satisfies z.ZodType<DeviceKeysUpload>;

export const keysUploadRequestSchema = z.object({
  devices: z.array(deviceKeysUploadSchema).min(1).max(127),
}) satisfies z.ZodType<KeysUploadRequest>;

export const devicePreKeyBundleSchema = z.object({
  deviceId,
  registrationId,
  identityKey: base64Key,
  signedPreKey: signedPublicPreKeySchema,
  kyberPreKey: signedPublicPreKeySchema,
  preKey: publicPreKeySchema.optional(),
}) satisfies z.ZodType<DevicePreKeyBundle>;

export const preKeyBundleResponseSchema = z.object({
  user: z.string().min(1).max(512),
  devices: z.array(devicePreKeyBundleSchema).max(127),
}) satisfies z.ZodType<PreKeyBundleResponse>;

export const preKeyCountResponseSchema = z.object({
  user: z.string().min(1).max(512),
  devices: z
    .array(z.object({ deviceId, oneTimePreKeys: z.int().min(0), oneTimeKyberPreKeys: z.int().min(0) }))
    .max(127),
}) satisfies z.ZodType<PreKeyCountResponse>;
