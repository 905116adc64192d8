// The Signal layer: libsignal sessions over narrow SQLite-backed stores, shared by the bridge and the gatekeeper.
export { type DeviceAddress, MAX_DEVICE_ID, MIN_DEVICE_ID } from "./address.js";
export * from "./bundle.js";
export {
  type IdentityPolicy,
  SignalDeviceStore,
  type SignalDeviceStoreOptions,
  SignalUnitOfWork,
} from "./device-store.js";
export { SignalError, type SignalErrorCode } from "./errors.js";
export {
  ensureLocalIdentity,
  type EnsureLocalIdentityOptions,
  getRemoteIdentity,
  localIdentityKey,
  type SafetyNumber,
  safetyNumber,
  safetyNumberOf,
  scannableMatches,
  currentRemoteIdentities,
  type RemoteIdentity,
} from "./identity.js";
export { withIdentityLock } from "./identity-lock.js";
export { onStaleRatchet, type StaleRatchet } from "./ratchet-watch.js";
export {
  createDeviceKeysUpload,
  DEFAULT_ONE_TIME_PREKEYS,
  DEFAULT_PREKEY_GRACE_MS,
  type PreKeyBatch,
  refillPreKeys,
  rotateSignedPreKey,
  type RotationOptions,
} from "./prekeys.js";
export { SIGNAL_SCHEMA_SQL } from "./schema.js";
export {
  type CiphertextKind,
  type DecryptedMessage,
  decryptFrom,
  deleteSession,
  type EncryptedMessage,
  encryptTo,
  hasSession,
  sessionDevices,
  sessionRegistrationId,
  startSessionFromBundle,
} from "./sessions.js";
