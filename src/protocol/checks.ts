// Field checks shared by the envelope, frame and content validators.
import { invalidField } from "./errors.js";
import { MAX_DEVICE_ID, MIN_DEVICE_ID } from "./limits.js";

export function checkDeviceId(device: number, field: string): void {
  if (!Number.isInteger(device) || device < MIN_DEVICE_ID || device > MAX_DEVICE_ID) {
    throw invalidField(field, `a device ID is an integer in ${MIN_DEVICE_ID}..${MAX_DEVICE_ID}, got ${String(device)}`);
  }
}

/** A device list: valid IDs, no duplicates. */
export function checkDeviceList(devices: readonly number[], field: string): void {
  const seen = new Set<number>();
  devices.forEach((device, i) => {
    checkDeviceId(device, `${field}[${i}]`);
    if (seen.has(device)) throw invalidField(`${field}[${i}]`, `device ${device} is listed twice`);
    seen.add(device);
  });
}

export function checkByteLength(bytes: Uint8Array, length: number, field: string): void {
  if (bytes.length !== length) throw invalidField(field, `must be exactly ${length} bytes, got ${bytes.length}`);
}

export function checkMaxLength(text: string, max: number, field: string): void {
  if (text.length > max) throw invalidField(field, `must be at most ${max} characters, got ${text.length}`);
}
