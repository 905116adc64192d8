// What the crypto engine needs to remember beside its crypto stores, as an interface it is handed: which device
// (and store) each bridge-owned user has, and where each device's to-device inbox was last read. The bridge keeps
// this in its database (src/store/crypto-devices.ts); the Matrix layer does not know there is one.

export interface CryptoDeviceRow {
  userId: string;
  deviceId: string;
  storeName: string;
  /** Unpadded base64 Ed25519 identity key, once the device's machine has been opened. */
  ed25519Key: string | null;
  crossSigned: boolean;
}

export interface CryptoDeviceRegistry {
  get(userId: string): Promise<CryptoDeviceRow | undefined>;
  all(): Promise<CryptoDeviceRow[]>;
  /** The user's device if it is this one (a message for an older device of the user finds nothing). */
  byDevice(userId: string, deviceId: string): Promise<CryptoDeviceRow | undefined>;
  /** Records a new device, replacing the user's previous one (whose store is then no longer used). */
  put(userId: string, deviceId: string, storeName: string): Promise<void>;
  setIdentityKey(userId: string, ed25519Key: string): Promise<void>;
  setCrossSigned(userId: string): Promise<void>;
  /** The /sync token up to which the device's to-device inbox has been read, if it ever was. */
  toDeviceSince(userId: string, deviceId: string): Promise<string | undefined>;
  setToDeviceSince(userId: string, deviceId: string, token: string): Promise<void>;
}
