// Decrypting an envelope the gatekeeper delivered, for an onEnvelope handler. The ratchet step and whatever the
// handler stores (the decrypted content in the inbox) commit in one transaction; only after that may the client
// acknowledge the envelope.
import { EnvelopeType, type Envelope } from "../protocol/gen/interop_pb.js";
import { messageIdToString } from "../protocol/message-id.js";
import type { SignalDeviceStore } from "../protocol/signal/device-store.js";
import { SignalError } from "../protocol/signal/errors.js";
import { decryptFrom } from "../protocol/signal/sessions.js";

export interface DecryptedEnvelope {
  /** 32 uppercase hex digits. */
  messageId: string;
  sender: string;
  senderDevice: number;
  timestampMs: number;
  /** Padded Content bytes: give them to decodeContent. */
  plaintext: Uint8Array;
  /** The sender device's identity key changed with this message (a reinstall): show "security code changed". */
  identityChanged: boolean;
}

/**
 * Decrypts `envelope` with the recipient's store and runs `persist` in the transaction that commits the ratchet
 * state. Throws SignalError: `duplicate-message` / `replayed-prekey-message` mean it was handled before (ack it);
 * other codes mean it can never be decrypted (record that, then ack it). Deduplicate by envelope ID first: a
 * redelivery of a PreKey message whose session has since moved on would otherwise be reported as undecryptable.
 */
export async function decryptEnvelope(
  store: SignalDeviceStore,
  envelope: Envelope,
  persist?: (decrypted: DecryptedEnvelope) => Promise<void> | void,
): Promise<DecryptedEnvelope> {
  if (envelope.recipient !== store.local.uri || envelope.recipientDevice !== store.local.deviceId) {
    throw new SignalError(
      "invalid-argument",
      `envelope for ${envelope.recipient}#${envelope.recipientDevice} given to the store of ${store.local.uri}#${store.local.deviceId}`,
    );
  }
  const type = envelope.type === EnvelopeType.PREKEY_MESSAGE ? "prekey" : "message";
  return store.transact(
    async (uow) => {
      const { plaintext, identityChanged } = await decryptFrom(
        uow,
        { uri: envelope.sender, deviceId: envelope.senderDevice },
        type,
        envelope.ciphertext,
      );
      return {
        messageId: messageIdToString(envelope.id),
        sender: envelope.sender,
        senderDevice: envelope.senderDevice,
        timestampMs: Number(envelope.timestampMs),
        plaintext,
        identityChanged,
      };
    },
    persist,
  );
}

/** Whether a decryption failure means "this envelope was already processed" rather than "it is unreadable". */
export function isAlreadyDecrypted(err: unknown): boolean {
  return err instanceof SignalError && (err.code === "duplicate-message" || err.code === "replayed-prekey-message");
}
