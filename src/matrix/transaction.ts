/**
 * Normalises the body of `PUT /_matrix/app/v1/transactions/{txnId}` into one typed `AppserviceTransaction`.
 *
 * Synapse sends some sections under stable keys and some under unstable MSC prefixes, depending on its version and
 * on the registration flags; this module is the one place that knows the key names.
 *
 * Policy for bad input: a body whose overall structure is wrong (not an object, `events` missing or not a list, a
 * section of the wrong JSON type) is rejected as a whole, so the homeserver keeps retrying and an operator sees it.
 * A single malformed item inside a well-formed section is set aside in `rejected` instead: the homeserver would resend
 * the identical transaction forever, so refusing it would stall every later event behind one bad one.
 */
import { z } from "zod";
import {
  clientEventSchema,
  ephemeralEventSchema,
  toDeviceEventSchema,
  type ClientEvent,
  type EphemeralEvent,
  type ToDeviceEvent,
} from "./events.js";
import { isUserId } from "./ids.js";

/** userId -> deviceId -> key algorithm -> number of unused one-time keys. */
export type OneTimeKeyCounts = Record<string, Record<string, Record<string, number>>>;
/** userId -> deviceId -> algorithms with an unused fallback key. */
export type UnusedFallbackKeyTypes = Record<string, Record<string, string[]>>;

export type TransactionSection =
  | "events"
  | "ephemeral"
  | "to_device"
  | "device_lists"
  | "device_one_time_keys_count"
  | "device_unused_fallback_key_types";

/** An item that was dropped from an otherwise valid transaction, with why. */
export interface RejectedItem {
  section: TransactionSection;
  /** Index in the section's list, or the user ID for per-user maps. */
  position: number | string;
  reason: string;
  /** The event ID when the item had a readable one, to correlate with homeserver logs. */
  eventId?: string;
}

export interface AppserviceTransaction {
  events: ClientEvent[];
  ephemeral: EphemeralEvent[];
  toDevice: ToDeviceEvent[];
  deviceLists: { changed: string[]; left: string[] };
  oneTimeKeyCounts: OneTimeKeyCounts;
  unusedFallbackKeyTypes: UnusedFallbackKeyTypes;
  rejected: RejectedItem[];
}

/** The body's structure was unusable; carries a message fit for the HTTP error response. */
export class InvalidTransactionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTransactionError";
  }
}

const KEYS = {
  ephemeral: ["ephemeral", "de.sorunome.msc2409.ephemeral"],
  toDevice: ["to_device", "de.sorunome.msc2409.to_device"],
  deviceLists: ["device_lists", "org.matrix.msc3202.device_lists"],
  // Synapse sends both spellings of the unstable key for older appservices.
  oneTimeKeyCounts: [
    "device_one_time_keys_count",
    "org.matrix.msc3202.device_one_time_keys_count",
    "org.matrix.msc3202.device_one_time_key_counts",
  ],
  unusedFallbackKeyTypes: ["device_unused_fallback_key_types", "org.matrix.msc3202.device_unused_fallback_key_types"],
} as const;

/**
 * Deepest nesting of arrays and objects accepted in one item. Real events stay in single digits; the bound exists
 * because JSON.parse reads any depth while JSON.stringify (which queues the item) overflows the stack at a few
 * thousand levels, and a transaction that can never be queued would be retried by the homeserver forever.
 */
export const MAX_ITEM_DEPTH = 64;

/** Whether `value` nests deeper than `limit`; iterative, so the check itself cannot overflow the stack. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== "object" || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > limit) return true;
    for (const child of Object.values(next.value)) {
      if (typeof child === "object" && child !== null) pending.push({ value: child, depth });
    }
  }
  return false;
}

const countsByDeviceSchema = z.record(z.string().min(1), z.record(z.string().min(1), z.number().int().nonnegative()));
const fallbackByDeviceSchema = z.record(z.string().min(1), z.array(z.string().min(1)));

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value under the first key present; a stable key wins over the unstable ones it replaces. */
function pick(body: Record<string, unknown>, keys: readonly string[]): { key: string; value: unknown } | undefined {
  for (const key of keys) {
    if (body[key] !== undefined && body[key] !== null) return { key, value: body[key] };
  }
  return undefined;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

function readEventId(item: unknown): string | undefined {
  return isPlainObject(item) && typeof item.event_id === "string" ? item.event_id : undefined;
}

function parseList<T>(
  section: TransactionSection,
  key: string,
  value: unknown,
  schema: z.ZodType<T>,
  rejected: RejectedItem[],
): T[] {
  if (!Array.isArray(value)) throw new InvalidTransactionError(`"${key}" must be a list`);
  const items: T[] = [];
  value.forEach((item, index) => {
    if (nestsDeeperThan(item, MAX_ITEM_DEPTH)) {
      const eventId = readEventId(item);
      rejected.push({ section, position: index, reason: `nested deeper than ${MAX_ITEM_DEPTH} levels`, ...(eventId ? { eventId } : {}) });
      return;
    }
    const result = schema.safeParse(item);
    if (result.success) {
      items.push(result.data);
    } else {
      const eventId = readEventId(item);
      rejected.push({ section, position: index, reason: describeIssues(result.error), ...(eventId ? { eventId } : {}) });
    }
  });
  return items;
}

function parsePerUser<T>(
  section: TransactionSection,
  key: string,
  value: unknown,
  schema: z.ZodType<T>,
  rejected: RejectedItem[],
): Record<string, T> {
  if (!isPlainObject(value)) throw new InvalidTransactionError(`"${key}" must be an object`);
  const out: Record<string, T> = {};
  for (const [userId, perDevice] of Object.entries(value)) {
    if (!isUserId(userId)) {
      rejected.push({ section, position: userId, reason: "not a valid user ID" });
      continue;
    }
    const result = schema.safeParse(perDevice);
    if (result.success) out[userId] = result.data;
    else rejected.push({ section, position: userId, reason: describeIssues(result.error) });
  }
  return out;
}

function parseUserIdList(key: string, value: unknown, rejected: RejectedItem[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidTransactionError(`"${key}" must be a list`);
  const out: string[] = [];
  value.forEach((item, index) => {
    if (typeof item === "string" && isUserId(item)) out.push(item);
    else rejected.push({ section: "device_lists", position: index, reason: `${key}: not a valid user ID` });
  });
  return out;
}

function parseDeviceLists(key: string, value: unknown, rejected: RejectedItem[]): AppserviceTransaction["deviceLists"] {
  if (!isPlainObject(value)) throw new InvalidTransactionError(`"${key}" must be an object`);
  return {
    changed: parseUserIdList(`${key}.changed`, value.changed, rejected),
    left: parseUserIdList(`${key}.left`, value.left, rejected),
  };
}

/** Validates and normalises a transaction body. Throws `InvalidTransactionError` if its structure is unusable. */
export function parseTransaction(body: unknown): AppserviceTransaction {
  if (!isPlainObject(body)) throw new InvalidTransactionError("transaction body must be a JSON object");
  if (body.events === undefined) throw new InvalidTransactionError('"events" is required');

  const rejected: RejectedItem[] = [];
  const events = parseList("events", "events", body.events, clientEventSchema, rejected);

  const ephemeral = pick(body, KEYS.ephemeral);
  const toDevice = pick(body, KEYS.toDevice);
  const deviceLists = pick(body, KEYS.deviceLists);
  const otkCounts = pick(body, KEYS.oneTimeKeyCounts);
  const fallback = pick(body, KEYS.unusedFallbackKeyTypes);

  return {
    events,
    ephemeral: ephemeral ? parseList("ephemeral", ephemeral.key, ephemeral.value, ephemeralEventSchema, rejected) : [],
    toDevice: toDevice ? parseList("to_device", toDevice.key, toDevice.value, toDeviceEventSchema, rejected) : [],
    deviceLists: deviceLists ? parseDeviceLists(deviceLists.key, deviceLists.value, rejected) : { changed: [], left: [] },
    oneTimeKeyCounts: otkCounts
      ? parsePerUser("device_one_time_keys_count", otkCounts.key, otkCounts.value, countsByDeviceSchema, rejected)
      : {},
    unusedFallbackKeyTypes: fallback
      ? parsePerUser("device_unused_fallback_key_types", fallback.key, fallback.value, fallbackByDeviceSchema, rejected)
      : {},
    rejected,
  };
}
