// A tripwire for a ratchet state going backwards. Every ciphertext names its sending chain (the sender's ratchet
// public key) and its counter on that chain; the receiver throws away a second message with a counter it has
// already used, as a duplicate, without telling anyone. So when a unit of work commits session state that encrypted
// with a counter at or below one already committed on the same chain, some earlier state was written back over a
// newer one (a stale cache, a lost write, a restored backup), and the message just encrypted will be lost. The
// per-device version check makes that impossible by design; this watch says so loudly if it ever happens anyway.
//
// The positions are read from the ciphertext's wire format (libsignal exposes the counter but not the ratchet key):
// SignalMessage = version byte, protobuf { 1: ratchet key, 2: counter, ... }, 8-byte MAC; PreKeySignalMessage =
// version byte, protobuf { ..., 4: SignalMessage }.
import { type DeviceAddress, formatDevice } from "./address.js";
/** As in sessions.ts (not imported: sessions.ts imports this module). */
type CiphertextKind = "prekey" | "message";

export interface RatchetPosition {
  /** Hex of the sender's ratchet public key for this chain. */
  chain: string;
  counter: number;
}

export interface StaleRatchet {
  local: DeviceAddress;
  remote: DeviceAddress;
  chain: string;
  /** The counter the state just committed encrypted with. */
  counter: number;
  /** The highest counter committed on that chain before. */
  highest: number;
}

const MAC_BYTES = 8;
/** Chains remembered per pair of devices: the current one and the few before it a rollback could return to. */
const CHAINS_PER_PAIR = 4;

function varint(b: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  for (let shift = 0, i = at; i < b.length && shift < 49; i++, shift += 7) {
    value += (b[i]! & 0x7f) * 2 ** shift;
    if ((b[i]! & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

/** Fields 1..n of a protobuf message as numbers (varints) or byte views (length-delimited); undefined if malformed. */
function fields(b: Uint8Array): Map<number, number | Uint8Array> | undefined {
  const out = new Map<number, number | Uint8Array>();
  let at = 0;
  while (at < b.length) {
    const key = varint(b, at);
    if (!key) return undefined;
    const [tag, next] = key;
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const v = varint(b, next);
      if (!v) return undefined;
      out.set(no, v[0]);
      at = v[1];
    } else if (wire === 2) {
      const len = varint(b, next);
      if (!len || len[1] + len[0] > b.length) return undefined;
      out.set(no, b.subarray(len[1], len[1] + len[0]));
      at = len[1] + len[0];
    } else if (wire === 5) at = next + 4;
    else if (wire === 1) at = next + 8;
    else return undefined;
  }
  return out;
}

/** Where on its sending chain a ciphertext this device produced sits; undefined for bytes it cannot read. */
export function sendingPosition(kind: CiphertextKind, ciphertext: Uint8Array): RatchetPosition | undefined {
  if (kind === "prekey") {
    const inner = fields(ciphertext.subarray(1))?.get(4);
    return inner instanceof Uint8Array ? sendingPosition("message", inner) : undefined;
  }
  if (ciphertext.length <= 1 + MAC_BYTES) return undefined;
  const f = fields(ciphertext.subarray(1, ciphertext.length - MAC_BYTES));
  const key = f?.get(1);
  const counter = f?.get(2) ?? 0; // proto3: a zero counter is not written
  if (!(key instanceof Uint8Array) || typeof counter !== "number") return undefined;
  return { chain: Buffer.from(key).toString("hex"), counter };
}

type Listener = (stale: StaleRatchet) => void;
const listeners = new Set<Listener>();

/** Per database, per pair of devices: chain -> highest durably committed counter (insertion order = age). */
const committed = new WeakMap<object, Map<string, Map<string, number>>>();

/** Calls `listener` for every stale ratchet state committed in this process; returns the unsubscribe function. */
export function onStaleRatchet(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Called once a unit of work's writes are durable (its own transaction, or the caller's around it, committed), with
 * what it encrypted. A commit inside a transaction that then rolls back never gets here: nothing it encrypted can
 * have left, and the retry that encrypts with the same counter again is no rollback of used state.
 */
export function ratchetsCommitted(db: object, local: DeviceAddress, sent: readonly { remote: DeviceAddress; position: RatchetPosition }[]): void {
  if (sent.length === 0) return;
  let pairs = committed.get(db);
  if (!pairs) committed.set(db, (pairs = new Map()));
  for (const { remote, position } of sent) {
    const pair = `${formatDevice(local)}>${formatDevice(remote)}`;
    let chains = pairs.get(pair);
    if (!chains) pairs.set(pair, (chains = new Map()));
    const highest = chains.get(position.chain);
    if (highest !== undefined && position.counter <= highest) {
      for (const l of listeners) l({ local, remote, chain: position.chain.slice(0, 16), counter: position.counter, highest });
      continue;
    }
    chains.delete(position.chain);
    chains.set(position.chain, position.counter);
    if (chains.size > CHAINS_PER_PAIR) chains.delete(chains.keys().next().value!);
  }
}
