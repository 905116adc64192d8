// The E2EE test user: the shared Matrix test user (test/e2e/matrix-user.ts) with a Rust-crypto device.
import type { SynapseHandle } from "../harness/synapse.js";
import { MatrixTestUser, type SeenEvent } from "../e2e/matrix-user.js";

export type { SenderDevice } from "../e2e/matrix-user.js";
export type SeenEncryptedEvent = SeenEvent;
export type CryptoTestUser = MatrixTestUser;
export const CryptoTestUser = {
  create: (synapse: SynapseHandle, localpart: string): Promise<MatrixTestUser> => MatrixTestUser.create(synapse, localpart, { crypto: true }),
};
