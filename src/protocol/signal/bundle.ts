// Prekey bundles as they travel over the key service (JSON over HTTPS, binary fields base64).
// Shared by the bridge (uploads its users' keys, fetches remote bundles) and the reference gatekeeper.

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
