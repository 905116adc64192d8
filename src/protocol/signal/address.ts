// A device on the interop network: a user URI plus a small device number.
import { ProtocolAddress } from "@signalapp/libsignal-client";
import { SignalError } from "./errors.js";

export interface DeviceAddress {
  /** `matrix:u/alice:example.org` or `tel:+4915112345678`. */
  uri: string;
  /** 1..127, libsignal's range for device IDs. */
  deviceId: number;
}

export const MIN_DEVICE_ID = 1;
export const MAX_DEVICE_ID = 127;

export function checkDeviceAddress(address: DeviceAddress, role: string): void {
  if (typeof address.uri !== "string" || address.uri.length === 0 || address.uri.length > 512) {
    throw new SignalError("invalid-argument", `${role} URI must be a non-empty string of at most 512 characters`);
  }
  if (!Number.isInteger(address.deviceId) || address.deviceId < MIN_DEVICE_ID || address.deviceId > MAX_DEVICE_ID) {
    throw new SignalError(
      "invalid-argument",
      `${role} device ID must be an integer in ${MIN_DEVICE_ID}..${MAX_DEVICE_ID}, got ${String(address.deviceId)}`,
    );
  }
}

export function toProtocolAddress(address: DeviceAddress): ProtocolAddress {
  return ProtocolAddress.new(address.uri, address.deviceId);
}

export function formatDevice(address: DeviceAddress): string {
  return `${address.uri}#${address.deviceId}`;
}
