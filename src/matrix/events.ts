/**
 * Shapes of the Matrix events the bridge receives, as zod schemas with their inferred types.
 *
 * The schemas are strict about the envelope fields the bridge routes on (IDs, type, sender) and lenient about
 * `content`, whose meaning depends on the event type and is checked by whoever interprets that type.
 * Unknown top-level fields are kept, because servers add fields (e.g. `unsigned`, `age`) that later code may read.
 */
import { z } from "zod";
import { isEventId, isRoomId, isUserId } from "./ids.js";

export const userIdSchema = z.string().refine(isUserId, { message: "not a valid user ID" });
export const roomIdSchema = z.string().refine(isRoomId, { message: "not a valid room ID" });
export const eventIdSchema = z.string().refine(isEventId, { message: "not a valid event ID" });

/** Event content: any JSON object. */
export const contentSchema = z.record(z.string(), z.unknown());
export type EventContent = z.infer<typeof contentSchema>;

/** A room event in the client-server format, as found in transactions, `/state`, `/members` and `/messages`. */
export const clientEventSchema = z.looseObject({
  event_id: eventIdSchema,
  room_id: roomIdSchema,
  sender: userIdSchema,
  type: z.string().min(1),
  origin_server_ts: z.number().int().nonnegative(),
  content: contentSchema,
  state_key: z.string().optional(),
  redacts: z.string().optional(),
  unsigned: z.record(z.string(), z.unknown()).optional(),
});
export type ClientEvent = z.infer<typeof clientEventSchema>;

/** Typing, receipt and presence events (MSC2409); typing and receipts carry a room ID, presence a sender. */
export const ephemeralEventSchema = z.looseObject({
  type: z.string().min(1),
  content: contentSchema,
  room_id: roomIdSchema.optional(),
  sender: userIdSchema.optional(),
});
export type EphemeralEvent = z.infer<typeof ephemeralEventSchema>;

/** A to-device message addressed to one of the appservice's devices (MSC4203, sent under MSC2409's keys). */
export const toDeviceEventSchema = z.looseObject({
  type: z.string().min(1),
  sender: userIdSchema,
  to_user_id: userIdSchema,
  to_device_id: z.string().min(1),
  content: contentSchema,
});
export type ToDeviceEvent = z.infer<typeof toDeviceEventSchema>;

/** Stripped state as found in `unsigned.invite_room_state`. */
export const strippedStateEventSchema = z.looseObject({
  type: z.string().min(1),
  state_key: z.string(),
  sender: userIdSchema,
  content: contentSchema,
});
